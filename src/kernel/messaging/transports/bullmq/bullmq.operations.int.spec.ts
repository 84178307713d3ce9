/**
 * BullMQ transport operations: depth and lag, the BullMQ copy of dead letters, start-up checks,
 * and an informational throughput figure. The file runs its own redis-server.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../config.js';
import type { Logger } from '../../../observability/logger.js';
import { redisSkipReason } from '../../../testing/brokers.js';
import { eventually } from '../../../testing/index.js';
import { UnroutedError } from '../../errors.js';
import type { ConsumerEndpoint, DeliveryOutcome } from '../../transport.js';
import { createMemoryTransport } from '../memory/memory.js';
import { things } from '../testing/conformance/fixtures.js';
import { Harness } from '../testing/conformance/harness.js';
import { type BullMqTransportOptions, createBullMqTransport } from './bullmq.js';
import { partitionQueueName, routesKey, routesVersionKey } from './keys.js';
import {
  addJobByHand,
  envelope,
  FakeConsumer,
  publishAll,
  redisServerMissingReason,
  stream,
  TestRedis,
  TYPE,
  usePrivateRedis,
} from './testing/private-redis.js';

const skip = (await redisSkipReason()) ?? redisServerMissingReason();
const redis = usePrivateRedis(skip);
const silent = pino({ level: 'silent' });

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

(skip ? describe.skip : describe)('bullmq transport: operations', () => {
  it('reports depth (waiting) and lag (waiting and in flight) per consumer', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const consumer = new FakeConsumer();
    const endpoint = consumer.endpoint('one', 1);
    const instance = transport({ prefetch: 2 });
    try {
      await instance.subscribe({
        ...endpoint,
        deliver: async (raw, attempt) => gate.then(() => endpoint.deliver(raw, attempt)),
      });
      await instance.publish(stream(12, 1));
      // 2 fetched (one running, one waiting behind it in its key's lane), 10 still in Redis; the
      // only instance works every partition
      const all = [0, 1, 2, 3];
      await eventually(async () =>
        expect(await instance.stats()).toEqual([
          { consumer: 'alpha.things', depth: 10, lag: 12, partitions: all },
        ]),
      );
      release();
      await eventually(async () =>
        expect(await instance.stats()).toEqual([
          { consumer: 'alpha.things', depth: 0, lag: 0, partitions: all },
        ]),
      );
      expect(consumer.handled).toHaveLength(12);
    } finally {
      release();
      await instance.close();
    }
  });

  it('dead-letters a non-JSON job added by hand and keeps a copy in dlq.<module>.retry', async () => {
    const notJson = '{"id": "half a message';
    const instance = transport();
    const outcomes: DeliveryOutcome[] = [];
    const endpoint: ConsumerEndpoint = {
      ...new FakeConsumer().endpoint('one'),
      deliver: async (raw, attempt) => {
        const outcome: DeliveryOutcome = raw.toString().startsWith('{"id": "half')
          ? { kind: 'dead-lettered', error: 'BadMessageError: not JSON' }
          : { kind: 'handled' };
        outcomes.push(outcome);
        expect(attempt).toBe(1);
        return outcome;
      },
    };
    const dlq = new Queue('dlq.alpha.retry', { connection: { url: redis.url() }, prefix: redis.prefix() });
    try {
      await instance.subscribe(endpoint);
      await addJobByHand(redis.url(), redis.prefix(), endpoint.name, notJson);
      await eventually(async () => expect(await dlq.getWaitingCount()).toBe(1));
      const [copy] = await dlq.getWaiting();
      expect(copy?.data).toMatchObject({ consumer: 'alpha.things', envelope: notJson, attempts: 1 });
      expect(copy?.data.error).toContain('not JSON');
      expect(outcomes).toEqual([{ kind: 'dead-lettered', error: 'BadMessageError: not JSON' }]);
      await eventually(async () => expect(await instance.stats()).toMatchObject([{ depth: 0, lag: 0 }]));
    } finally {
      await Promise.all([instance.close(), dlq.close()]);
    }
  });

  it('refuses to subscribe with another partition count than the consumer has (BUS_PARTITIONS); publishers follow the consumer', async () => {
    const consumer = new FakeConsumer();
    const [first, other, publisher] = [
      transport(),
      transport({ partitions: 16 }),
      transport({ partitions: 16 }),
    ];
    try {
      await first.subscribe(consumer.endpoint('first'));
      const failure = await other.subscribe(consumer.endpoint('other')).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ConfigError);
      expect((failure as ConfigError).variable).toBe('BUS_PARTITIONS');
      expect((failure as ConfigError).message).toBe(
        'BUS_PARTITIONS: consumer alpha.things has 4 partitions on this broker, BUS_PARTITIONS is 16 ' +
          "(set BUS_PARTITIONS=4, or drain and re-create the consumer's queues: see README)",
      );
      // the stored count decides where a key goes, whatever the publisher's own
      await publisher.publish(stream(20, 8));
      await eventually(() => expect(consumer.inbox.size).toBe(20), { timeoutMs: 10_000 });
      expect(new Set(consumer.handled.map((s) => s.by))).toEqual(new Set(['first']));
    } finally {
      await Promise.all([first.close(), other.close(), publisher.close()]);
    }
  });

  it('fails a publish that Redis answers with an error for one job, and takes the batch once Redis accepts it', async () => {
    const consumer = new FakeConsumer();
    const [instance, publisher] = [transport(), transport()];
    const redisClient = new Redis(redis.url());
    // every partition queue's job counter holds a string, so each insert's INCR gets an error reply
    const counters = [0, 1, 2, 3].map((p) => `${redis.prefix()}:${partitionQueueName('alpha.things', p)}:id`);
    try {
      await instance.subscribe(consumer.endpoint('one', 4, () => 0));
      await redisClient.mset(...counters.flatMap((key) => [key, 'not a number']));
      const messages = stream(20, 8);
      await expect(publisher.publish(messages)).rejects.toThrow(/not an integer/);
      await redisClient.del(...counters);
      await publisher.publish(messages); // as the outbox relay does: the same batch again
      await eventually(() => expect(consumer.inbox.size).toBe(20), { timeoutMs: 10_000 });
      expect(consumer.handled).toHaveLength(20);
    } finally {
      await Promise.all([instance.close(), publisher.close(), redisClient.quit()]);
    }
  });

  it('keeps no job in memory once it is handled, however long a partition run lives', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heapAfterGc = () => {
      gc();
      return getHeapStatistics().used_heap_size;
    };
    const padded = (count: number) =>
      stream(count, 8).map((e) => ({ ...e, data: { ...(e.data as object), padding: 'x'.repeat(8000) } }));
    const consumer = new FakeConsumer();
    const [instance, publisher] = [transport(), transport()];
    try {
      await instance.subscribe(consumer.endpoint('one', 4, () => 0));
      await publishAll(publisher, padded(200), 100); // warms up every partition run
      await eventually(() => expect(consumer.inbox.size).toBe(200), { timeoutMs: 20_000 });
      const before = heapAfterGc();
      await publishAll(publisher, padded(2000), 100); // ≈ 16 MB of job data
      await eventually(() => expect(consumer.inbox.size).toBe(2200), { timeoutMs: 60_000, intervalMs: 100 });
      const grownMb = (heapAfterGc() - before) / 2 ** 20;
      expect(grownMb).toBeLessThan(6);
    } finally {
      await Promise.all([instance.close(), publisher.close()]);
    }
  }, 90_000);

  it('keeps what is published for a provisioned consumer that never ran; writes lost routes again', async () => {
    const sink = { name: 'sink.things', module: 'sink', handles: [TYPE], types: [TYPE] };
    const waiting = async () => {
      let count = 0;
      for (let i = 0; i < 4; i++) {
        const queue = new Queue(partitionQueueName(sink.name, i), {
          connection: { url: redis.url() },
          prefix: redis.prefix(),
        });
        count += await queue.getWaitingCount();
        await queue.close();
      }
      return count;
    };
    const publisher = transport();
    const admin = new Redis(redis.url());
    try {
      await publisher.provision([sink]);
      await publisher.publish([envelope('k', 1), envelope('m', 2)]);
      expect(await waiting()).toBe(2);
      await admin.del(routesKey(redis.prefix(), TYPE)); // Redis lost the routing table
      await admin.incr(routesVersionKey(redis.prefix()));
      const failure = await publisher.publish([envelope('k', 3)]).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(UnroutedError);
      await publisher.publish([envelope('k', 3)]); // the relay's retry: routed again
      expect(await waiting()).toBe(3);
    } finally {
      admin.disconnect();
      await publisher.close();
    }
  });

  it('fails at start with an error naming REDIS_URL when Redis does not answer', async () => {
    const instance = createBullMqTransport(silent, { url: 'redis://127.0.0.1:1', connectTimeoutMs: 300 });
    try {
      const failure = instance.subscribe(new FakeConsumer().endpoint('one'));
      await expect(failure).rejects.toBeInstanceOf(ConfigError);
      await expect(failure).rejects.toThrow(
        /REDIS_URL: Redis at redis:\/\/127.0.0.1:1 did not answer within/,
      );
      expect(await instance.health()).toMatchObject({ ok: false });
    } finally {
      await instance.close();
    }
  });

  it('warns once, at start, when Redis runs without AOF', async () => {
    const lines: string[] = [];
    const capture = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const withoutAof = await TestRedis.start({ aof: false });
    const [unsafe, safe] = [
      createBullMqTransport(capture, { url: withoutAof.url, prefix: redis.prefix() }),
      transport({}, capture),
    ];
    try {
      await safe.subscribe(new FakeConsumer().endpoint('safe'));
      expect(lines.filter((l) => l.includes('AOF'))).toEqual([]);
      await unsafe.subscribe(new FakeConsumer().endpoint('unsafe'));
      await unsafe.publish([envelope('k', 1)]);
      expect(lines.filter((l) => l.includes('without AOF'))).toHaveLength(1);
    } finally {
      await Promise.all([unsafe.close(), safe.close()]);
      await withoutAof.stop();
    }
  });

  it('moves 2000 messages from outbox to handler (informational throughput, vs memory)', async () => {
    const rates: string[] = [];
    for (const [name, create] of [
      ['memory', createMemoryTransport],
      ['bullmq', (log: Logger) => transport({}, log)],
    ] as const) {
      const h = new Harness(create);
      h.concurrency.alpha = 4;
      try {
        await h.start({ consumers: ['alpha'] });
        const started = Date.now();
        for (let i = 0; i < 2000; i += 100)
          await h.stage(...things(i + 1, i + 100, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']));
        await eventually(async () => expect(await h.effects('alpha')).toHaveLength(2000), {
          timeoutMs: 60_000,
          intervalMs: 250,
        });
        const seconds = (Date.now() - started) / 1000;
        rates.push(`${name}: ${Math.round(2000 / seconds)} msg/s (${seconds.toFixed(2)} s)`);
      } finally {
        await h.dispose();
      }
    }
    const consumer = new FakeConsumer();
    const [instance, publisher] = [transport(), transport()];
    try {
      await instance.subscribe(consumer.endpoint('one', 4, () => 0));
      const started = Date.now();
      await publishAll(publisher, stream(2000, 8), 100);
      await eventually(() => expect(consumer.inbox.size).toBe(2000), { timeoutMs: 60_000, intervalMs: 50 });
      const seconds = (Date.now() - started) / 1000;
      rates.push(
        `bullmq transport alone (no kernel): ${Math.round(2000 / seconds)} msg/s (${seconds.toFixed(2)} s)`,
      );
    } finally {
      await Promise.all([instance.close(), publisher.close()]);
    }
    console.log(`2000 messages published -> handled, 8 keys, concurrency 4: ${rates.join('; ')}`);
  }, 120_000);
});
