/**
 * BullMQ transport cases beyond the shared conformance suite: two consumer instances, a consumer
 * process killed mid-job, Redis restarted under a stream. The file runs its own redis-server.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../../observability/logger.js';
import { redisSkipReason } from '../../../testing/brokers.js';
import { eventually } from '../../../testing/index.js';
import { ConsumerPause } from '../../consumer-pause.js';
import { partitionOf } from '../partition.js';
import { type BullMqTransportOptions, createBullMqTransport } from './bullmq.js';
import {
  envelope,
  FakeConsumer,
  leaseHolders,
  partitionsHeldBy,
  publishAll,
  redisServerMissingReason,
  stream,
  usePrivateRedis,
} from './testing/private-redis.js';

const skip = (await redisSkipReason()) ?? redisServerMissingReason();
const redis = usePrivateRedis(skip);
const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A key whose partition (of 4) is one of `partitions`. */
function keyIn(partitions: readonly number[]): string {
  for (let i = 0; ; i++) if (partitions.includes(partitionOf(`k${i}`, 4))) return `k${i}`;
}

/** The crash child (testing/crash-child.ts) with its output lines; `kill` returns the jobs it had in flight. */
function crashChild(url: string, prefix: string, args: readonly string[]) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./testing/crash-child.ts', import.meta.url)),
      url,
      prefix,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  const numbers = (word: string) =>
    lines.filter((l) => l.startsWith(`${word} `)).map((l) => Number(l.slice(word.length + 1)));
  const done = () => numbers('done');
  return {
    lines,
    done,
    kill(): number[] {
      child.kill('SIGKILL');
      return numbers('start').filter((n) => !done().includes(n));
    },
  };
}

const transport = (options: Partial<BullMqTransportOptions> = {}, log: Logger = silent) =>
  createBullMqTransport(log, {
    url: redis.url(),
    prefix: redis.prefix(),
    partitions: 4, // the cases below name the 4 partitions
    lockDurationMs: 1000,
    leaseTtlMs: 1000,
    blockTimeoutSec: 1,
    ...options,
  });

(skip ? describe.skip : describe)('bullmq transport: instances, crashes, Redis restarts', () => {
  it('keeps per-key order with 2 consumer instances sharing the partitions, and one leaving', async () => {
    const consumer = new FakeConsumer();
    const [a, b, publisher] = [transport({ instanceId: 'a' }), transport({ instanceId: 'b' }), transport()];
    try {
      await a.subscribe(consumer.endpoint('a'));
      await b.subscribe(consumer.endpoint('b'));
      // a took every partition; once b is a member, a hands half of them over (fair share)
      const holders = () => leaseHolders(redis.url(), redis.prefix());
      await eventually(async () => expect(await holders()).toEqual(['a', 'a', 'b', 'b']), {
        timeoutMs: 10_000,
      });
      const messages = stream(400, 10); // keys k0…k9 fall in all 4 partitions
      await publishAll(publisher, messages.slice(0, 200));
      const workers = () => new Set(consumer.handled.map((s) => s.by));
      await eventually(() => expect(workers()).toEqual(new Set(['a', 'b'])), { timeoutMs: 10_000 });
      await publishAll(publisher, messages.slice(200));
      await eventually(() => expect(consumer.handled.length).toBeGreaterThan(250), { timeoutMs: 10_000 });
      await b.close(); // b finishes what it started and gives the rest back; a takes its partitions over
      await eventually(() => expect(consumer.inbox.size).toBe(400), { timeoutMs: 15_000 });
      // a works every partition again
      await eventually(async () =>
        expect(await a.stats()).toEqual([
          { consumer: 'alpha.things', depth: 0, lag: 0, partitions: [0, 1, 2, 3] },
        ]),
      );
      expect(consumer.handled).toHaveLength(400);
      expect(consumer.outOfOrder()).toEqual([]);
      expect(consumer.overlaps).toEqual([]);
    } finally {
      await Promise.all([a.close(), b.close(), publisher.close()]);
    }
  });

  it('claims no job for a paused consumer: they wait in Redis until it resumes, then run in order', async () => {
    const consumer = new FakeConsumer();
    const flow = new ConsumerPause('alpha.things', silent);
    flow.pause('downstream', 1500, 'down'); // as the pipeline would, a dependency being down
    const [a, publisher] = [transport(), transport()];
    try {
      await a.subscribe({ ...consumer.endpoint('a'), flow });
      await publishAll(publisher, stream(40, 8));
      await sleep(500); // every partition run had the time to fetch, were it not paused
      expect(flow.paused).toBe(true);
      expect(consumer.deliveries).toEqual([]);
      expect(await a.stats()).toEqual([
        { consumer: 'alpha.things', depth: 40, lag: 40, partitions: [0, 1, 2, 3] },
      ]);
      await eventually(() => expect(consumer.inbox.size).toBe(40), { timeoutMs: 10_000 });
      expect(consumer.deliveries).toHaveLength(40);
      expect(consumer.outOfOrder()).toEqual([]);
    } finally {
      flow.close();
      await Promise.all([a.close(), publisher.close()]);
    }
  });

  it('routes to a consumer that subscribed in another process after this one cached the routes', async () => {
    const [alpha, beta] = [new FakeConsumer(), new FakeConsumer()];
    const [a, b, publisher] = [transport(), transport(), transport()];
    try {
      await a.subscribe(alpha.endpoint('a'));
      const messages = stream(20, 4);
      await publishAll(publisher, messages.slice(0, 10)); // the publisher now knows the routes of TYPE
      await eventually(() => expect(alpha.inbox.size).toBe(10), { timeoutMs: 10_000 });
      await b.subscribe(beta.endpoint('b', 4, () => 0, 'beta.things')); // a new consumer of TYPE
      await publishAll(publisher, messages.slice(10));
      await eventually(() => expect(alpha.inbox.size).toBe(20), { timeoutMs: 10_000 });
      await eventually(() => expect(beta.inbox.size).toBe(10), { timeoutMs: 10_000 });
      expect(beta.handled.map(({ n }) => n).sort((x, y) => x - y)).toEqual(
        messages.slice(10).map((m) => (m.data as { n: number }).n),
      );
    } finally {
      await Promise.all([a.close(), b.close(), publisher.close()]);
    }
  });

  it('redelivers, in order, the jobs of a consumer process killed mid-job', async () => {
    const child = crashChild(redis.url(), redis.prefix(), ['40']);
    const consumer = new FakeConsumer();
    const [publisher, successor] = [transport(), transport({ instanceId: 'successor' })];
    try {
      await eventually(() => expect(child.lines).toContain('ready'), { timeoutMs: 20_000 });
      const messages = stream(60, 1); // one key: strict order
      await publishAll(publisher, messages);
      await eventually(() => expect(child.lines).toContain('start 10'), { timeoutMs: 10_000 });
      const inFlight = child.kill();
      expect(inFlight).toHaveLength(1);
      await successor.subscribe(consumer.endpoint('successor', 1, () => 0));
      const rest = messages.filter((m) => !child.done().includes((m.data as { n: number }).n));
      await eventually(() => expect(consumer.handled).toHaveLength(rest.length), { timeoutMs: 15_000 });
      // The job in flight at the kill is delivered again, first; the rest follow in order.
      expect(consumer.handled.map((s) => s.n)).toEqual(rest.map((m) => (m.data as { n: number }).n));
      expect(consumer.handled[0]?.n).toBe(inFlight[0]);
      expect(consumer.outOfOrder(consumer.deliveries)).toEqual([]);
    } finally {
      child.kill();
      await Promise.all([publisher.close(), successor.close()]);
    }
  });

  it('takes over the partitions and the job in flight of an instance killed with kill -9, with the default lease and lock', async () => {
    const child = crashChild(redis.url(), redis.prefix(), ['40', 'defaults', 'doomed']);
    const consumer = new FakeConsumer();
    // the survivor keeps the transport's default timings too: this is the takeover an operator sees
    const survivor = createBullMqTransport(silent, {
      url: redis.url(),
      prefix: redis.prefix(),
      partitions: 4,
      instanceId: 'survivor',
    });
    const publisher = transport();
    try {
      await eventually(() => expect(child.lines).toContain('ready'), { timeoutMs: 20_000 });
      await survivor.subscribe(consumer.endpoint('survivor', 1, () => 0));
      const holders = () => leaseHolders(redis.url(), redis.prefix());
      await eventually(
        async () => expect(await holders()).toEqual(['doomed', 'doomed', 'survivor', 'survivor']),
        {
          timeoutMs: 30_000,
          intervalMs: 100,
        },
      );
      // one key, in a partition the doomed instance works
      const doomedPartitions = await partitionsHeldBy(redis.url(), redis.prefix(), 'doomed');
      const key = keyIn(doomedPartitions);
      const messages = Array.from({ length: 60 }, (_, i) => envelope(key, i + 1));
      await publishAll(publisher, messages);
      await eventually(() => expect(child.lines).toContain('start 10'), { timeoutMs: 10_000 });
      const inFlight = child.kill();
      const killedAt = performance.now();
      expect(inFlight).toHaveLength(1);
      await eventually(() => expect(consumer.handled.length).toBeGreaterThan(0), {
        timeoutMs: 40_000,
        intervalMs: 20,
      });
      const takeoverMs = performance.now() - killedAt;
      console.info(
        `bullmq: the survivor handled the killed instance's job in flight ${Math.round(takeoverMs)} ms after kill -9`,
      );
      const rest = messages.filter((m) => !child.done().includes((m.data as { n: number }).n));
      await eventually(() => expect(consumer.handled).toHaveLength(rest.length), { timeoutMs: 15_000 });
      expect(consumer.handled[0]?.n).toBe(inFlight[0]);
      expect(consumer.handled.map((s) => s.n)).toEqual(rest.map((m) => (m.data as { n: number }).n));
      // and it works every partition now
      await eventually(
        async () => expect(await holders()).toEqual(['survivor', 'survivor', 'survivor', 'survivor']),
        {
          timeoutMs: 10_000,
        },
      );
    } finally {
      child.kill();
      await Promise.all([publisher.close(), survivor.close()]);
    }
  }, 90_000);

  it('loses nothing and keeps per-key order across two Redis restarts mid-stream (AOF)', async () => {
    const consumer = new FakeConsumer();
    const [instance, publisher] = [transport(), transport()];
    try {
      await instance.subscribe(consumer.endpoint('one', 4, () => 2));
      const messages = stream(300, 6);
      const publishing = (async () => {
        for (let i = 0; i < messages.length; i += 10) {
          const batch = messages.slice(i, i + 10);
          // like the outbox relay: a batch is published again until Redis accepts it
          await eventually(() => publisher.publish(batch), { timeoutMs: 20_000 });
          await sleep(5);
        }
      })();
      await eventually(() => expect(consumer.handled.length).toBeGreaterThan(40), { timeoutMs: 10_000 });
      await redis.server().restart();
      await eventually(() => expect(consumer.handled.length).toBeGreaterThan(150), { timeoutMs: 20_000 });
      await redis.server().restart(1500); // longer than the locks and leases
      await publishing;
      await eventually(() => expect(consumer.inbox.size).toBe(300), { timeoutMs: 30_000 });
      await eventually(async () => expect(await instance.stats()).toMatchObject([{ depth: 0, lag: 0 }]));
      expect(consumer.handled).toHaveLength(300);
      expect(consumer.outOfOrder()).toEqual([]);
      expect(consumer.overlaps).toEqual([]);
    } finally {
      await Promise.all([instance.close(), publisher.close()]);
    }
  }, 90_000);

  it('closes within seconds while Redis is down; a successor then gets what was left', async () => {
    const consumer = new FakeConsumer();
    const [first, publisher] = [transport({ instanceId: 'first' }), transport()];
    let successor: ReturnType<typeof transport> | undefined;
    try {
      await first.subscribe(consumer.endpoint('first', 2, () => 20));
      await publishAll(publisher, stream(60, 3));
      await eventually(() => expect(consumer.handled.length).toBeGreaterThan(5));
      await redis.server().down();
      const closing = Date.now();
      await first.close(); // handlers in flight finish; nothing else waits for Redis for long
      expect(Date.now() - closing).toBeLessThan(8000);
      await redis.server().up();
      successor = transport({ instanceId: 'successor' });
      await successor.subscribe(consumer.endpoint('successor', 2, () => 0));
      await eventually(() => expect(consumer.inbox.size).toBe(60), { timeoutMs: 15_000 });
      expect(consumer.outOfOrder()).toEqual([]);
      expect(consumer.overlaps).toEqual([]);
    } finally {
      await Promise.all([first.close(), publisher.close(), successor?.close()]);
    }
  });
});
