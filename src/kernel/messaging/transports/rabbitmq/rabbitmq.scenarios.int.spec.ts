/**
 * RabbitMQ scenarios beyond the conformance suite, on the shared broker (AMQP_URL), each under a
 * namespace of its own that is deleted afterwards:
 * - a consumer process killed with SIGKILL while it holds unacked deliveries (one committed and
 *   never acked): the second instance takes its partitions and gets them; the inbox absorbs the
 *   repeat; every message is handled once, each key in order;
 * - two instances of a consumer split its partitions; when one stops the other takes them all,
 *   and a new instance gets its share back;
 * - two instances of a consumer (classic and quorum queues): one stops mid-stream, the other
 *   takes over, per-key order holds;
 * - bad messages put on a queue by hand reach `dlq.<module>.retry` on the broker with the reason;
 * - queue depth and consumer lag are readable while messages wait;
 * - changing the queue type of existing queues fails at subscribe with a clear error;
 * - throughput of a 2000-message batch, printed (informational).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect, type GetMessage } from 'amqplib';
import Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../config.js';
import { defineModule, type ModuleDefinition } from '../../../modules/module.js';
import { createLogger } from '../../../observability/logger.js';
import {
  amqpSkipReason,
  amqpUrl,
  eventually,
  startTestKernel,
  type TestKernel,
} from '../../../testing/index.js';
import type { Envelope } from '../../envelope.js';
import { type HandlerContext, on } from '../../subscription.js';
import type { ConsumerEndpoint } from '../../transport.js';
import { range, sleep, thing, thingHappened } from '../testing/conformance/fixtures.js';
import { createRabbitMqTransport, type RabbitMqOptions } from './rabbitmq.js';
import { deadLetterQueue, endpointQueues, exchangeName, partitionQueue, type Topology } from './topology.js';

const PROJECT_ROOT = fileURLToPath(new URL('../../../../..', import.meta.url));
const skip = await amqpSkipReason();
if (skip && process.env.REQUIRE_BROKERS === '1') {
  it('runs, because REQUIRE_BROKERS=1', () => {
    throw new Error(`RabbitMQ scenarios cannot run: ${skip}`);
  });
} else if (skip) {
  console.warn(`skipping RabbitMQ scenarios: ${skip}`);
}

const runId = randomUUID().slice(0, 8);
let testNumber = 0;
let namespace = '';
let dataDir = '';
const kernels: TestKernel[] = [];
const children: ChildProcess[] = [];

beforeEach(() => {
  namespace = `s-${runId}-${++testNumber}.`;
  dataDir = mkdtempSync(join(tmpdir(), 'rabbitmq-scenario-'));
});
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const tk of kernels.splice(0)) await tk.stop();
  rmSync(dataDir, { recursive: true, force: true });
  if (!skip) await deleteTopology(['alpha.things']);
});

async function deleteTopology(consumers: readonly string[]): Promise<void> {
  const connection = await connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    // 16: the most partitions a case declares (deleting a queue that is not there is fine)
    const t: Topology = { namespace, partitions: 16, queueType: 'classic' };
    for (const consumer of consumers)
      for (const queue of endpointQueues(t, consumer)) await channel.deleteQueue(queue);
    await channel.deleteQueue(deadLetterQueue(t, 'alpha'));
    await channel.deleteExchange(exchangeName(t));
  } finally {
    await connection.close();
  }
}

const transportOptions = (instance: string, overrides: Partial<RabbitMqOptions> = {}): RabbitMqOptions => ({
  url: amqpUrl,
  namespace,
  partitions: 4, // the cases below name the 4 partitions
  connectionName: `modulith-test ${namespace} ${instance}`,
  connectTimeoutMs: 10_000,
  ...overrides,
});

// ---- fixture modules: `source` publishes things, `alpha` records each in alpha_effects ----

type Behaviour = (message: Envelope, ctx: HandlerContext) => void | Promise<void>;
interface Effect {
  seq: number;
  message_id: string;
  key: string;
  n: number;
  instance: string;
}

const source = defineModule({ name: 'source', messages: [thingHappened] });

function alphaModule(instance: string, behaviour: Behaviour = () => {}, concurrency = 4): ModuleDefinition {
  return defineModule({
    name: 'alpha',
    start: (ctx) => {
      ctx.transact((tx) =>
        tx.db.run(sql`CREATE TABLE IF NOT EXISTS alpha_effects (seq INTEGER PRIMARY KEY AUTOINCREMENT,
          message_id TEXT NOT NULL, key TEXT NOT NULL, n INTEGER NOT NULL, instance TEXT NOT NULL)`),
      );
    },
    subscriptions: [
      {
        consumer: 'alpha.things',
        concurrency,
        handlers: [
          on([thingHappened], async (message, ctx) => {
            await behaviour(message, ctx);
            const { key, n } = message.data as { key: string; n: number };
            await ctx.transact((tx) =>
              tx.db.run(sql`INSERT INTO alpha_effects (message_id, key, n, instance)
              VALUES (${message.id}, ${key}, ${n}, ${instance})`),
            );
          }),
        ],
      },
    ],
  });
}

async function startInstance(
  instance: string,
  options: { behaviour?: Behaviour; concurrency?: number; transport?: Partial<RabbitMqOptions> } = {},
): Promise<TestKernel> {
  const tk = await startTestKernel({
    modules: [source, alphaModule(instance, options.behaviour, options.concurrency)],
    transport: (log) => createRabbitMqTransport(log, transportOptions(instance, options.transport)),
    retry: { initialDelayMs: 5 },
    dataDir,
  });
  kernels.push(tk);
  return tk;
}

/** The effects table, read straight from alpha.db (whichever process wrote it). */
function effects(): Effect[] {
  const db = new Database(join(dataDir, 'alpha.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT * FROM alpha_effects ORDER BY seq').all() as Effect[];
  } catch {
    return []; // not created yet
  } finally {
    db.close();
  }
}

/** Every n of `expected` handled exactly once, and each key's n in increasing (publish) order. */
function expectOnceInOrder(rows: readonly Effect[], expected: readonly number[]): void {
  const counts = new Map<number, number>();
  for (const row of rows) counts.set(row.n, (counts.get(row.n) ?? 0) + 1);
  const duplicated = [...counts].filter(([, count]) => count > 1).map(([n]) => n);
  const lost = expected.filter((n) => !counts.has(n));
  expect({ duplicated, lost }).toEqual({ duplicated: [], lost: [] });
  const byKey = new Map<string, number[]>();
  for (const row of rows) byKey.set(row.key, [...(byKey.get(row.key) ?? []), row.n]);
  for (const [key, ns] of byKey) expect({ key, ns }).toEqual({ key, ns: [...ns].sort((a, b) => a - b) });
}

const keyOf = (n: number, keys = 5) => `k${n % keys}`;
const stage = (tk: TestKernel, ns: readonly number[], keys = 5) =>
  tk.context('source').transact((tx) => tx.stage(...ns.map((n) => thing(keyOf(n, keys), n))));

// ---- a consumer process, for the crash case ----

const CHILD = `
import { sql } from 'drizzle-orm';
const root = process.env.ROOT;
const { startTestKernel } = await import(root + 'src/kernel/testing/index.ts');
const { defineModule } = await import(root + 'src/kernel/modules/module.ts');
const { on } = await import(root + 'src/kernel/messaging/subscription.ts');
const { createRabbitMqTransport } = await import(root + 'src/kernel/messaging/transports/rabbitmq/rabbitmq.ts');
const { thing, thingHappened } = await import(root + 'src/kernel/messaging/transports/testing/conformance/fixtures.ts');
const instance = process.env.INSTANCE;
const hang = new Set(JSON.parse(process.env.HANG));
const alpha = defineModule({
  name: 'alpha',
  start: (ctx) => ctx.transact((tx) => tx.db.run(sql\`CREATE TABLE IF NOT EXISTS alpha_effects (seq INTEGER PRIMARY KEY
    AUTOINCREMENT, message_id TEXT NOT NULL, key TEXT NOT NULL, n INTEGER NOT NULL, instance TEXT NOT NULL)\`)),
  subscriptions: [{
    consumer: 'alpha.things', concurrency: 4,
    handlers: [on([thingHappened], async (message, ctx) => {
      const { key, n } = message.data;
      await new Promise((resolve) => setTimeout(resolve, 2));
      ctx.transact((tx) => tx.db.run(sql\`INSERT INTO alpha_effects (message_id, key, n, instance)
        VALUES (\${message.id}, \${key}, \${n}, \${instance})\`));
      if (hang.has(n)) {
        console.log('HUNG ' + n); // committed, and never acked: the process dies first
        await new Promise(() => {});
      }
    })],
  }],
});
const source = defineModule({ name: 'source', messages: [thingHappened] });
const tk = await startTestKernel({
  modules: [source, alpha],
  dataDir: process.env.DATA_DIR,
  transport: (log) => createRabbitMqTransport(log, JSON.parse(process.env.TRANSPORT_OPTIONS)),
  retry: { initialDelayMs: 5 },
});
const count = Number(process.env.STAGE);
if (count > 0) {
  tk.context('source').transact((tx) =>
    tx.stage(...Array.from({ length: count }, (_, i) => thing('k' + ((i + 1) % 5), i + 1))));
}
console.log('READY');
process.on('SIGTERM', () => tk.stop().then(() => process.exit(0)));
`;

interface Child {
  readonly process: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
}

async function startChild(instance: string, env: { STAGE: number; HANG: number[] }): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      ROOT: PROJECT_ROOT,
      INSTANCE: instance,
      DATA_DIR: dataDir,
      STAGE: String(env.STAGE),
      HANG: JSON.stringify(env.HANG),
      TRANSPORT_OPTIONS: JSON.stringify(transportOptions(instance)),
      TEST_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => lines.push(line));
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => lines.push(line));
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`child ${instance} exited: ${lines.join('\n')}`);
      expect(lines).toContain('READY');
    },
    { timeoutMs: 30_000, intervalMs: 50 },
  );
  return { process: child, lines, exited };
}

describe.skipIf(skip)('rabbitmq transport scenarios', () => {
  it('redelivers to the other instance what a SIGKILLed consumer held unacked; the inbox absorbs repeats', async () => {
    const total = 400;
    const a = await startChild('a', { STAGE: total, HANG: [10, 37] }); // keys k0 and k2 stall in A
    const b = await startChild('b', { STAGE: 0, HANG: [] });
    await eventually(async () => expect(a.lines).toEqual(expect.arrayContaining(['HUNG 10', 'HUNG 37'])), {
      timeoutMs: 20_000,
    });
    // A cannot hand over a partition whose key is stuck in a handler, so B waits for those
    const stuck = effects().filter((e) => e.instance === 'b' && (e.key === 'k0' || e.key === 'k2'));
    expect(stuck).toEqual([]);
    a.process.kill('SIGKILL');
    await a.exited;
    const handled = await eventually(
      () => {
        const rows = effects();
        expect(new Set(rows.map((r) => r.n)).size).toBe(total);
        return rows;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expectOnceInOrder(handled, range(1, total));
    // 10 and 37 were committed by A and never acked: redelivered to B, which changed nothing
    expect(handled.filter((e) => e.n === 10 || e.n === 37).map((e) => e.instance)).toEqual(['a', 'a']);
    expect(handled.some((e) => e.instance === 'b' && e.key === 'k0' && e.n > 10)).toBe(true);
    b.process.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  }, 90_000);

  it('splits the partitions between instances; one that stops hands them over, a new one gets its share', async () => {
    const fast = { transport: { balanceIntervalMs: 100 } };
    const a = await startInstance('a', fast);
    const b = await startInstance('b', fast);
    let next = 1;
    /** Stages a batch over 20 keys, waits until it is handled, and names the instances that did it. */
    const batch = async (by: TestKernel): Promise<Set<string>> => {
      const [first, last] = [next, next + 39];
      const ns = range(first, last);
      next += 40;
      await stage(by, ns, 20);
      const rows = await eventually(
        () => {
          const mine = effects().filter((e) => e.n >= first && e.n <= last);
          expect(mine).toHaveLength(ns.length);
          return mine;
        },
        { timeoutMs: 10_000, intervalMs: 20 },
      );
      return new Set(rows.map((e) => e.instance));
    };
    await eventually(async () => expect(await batch(a)).toEqual(new Set(['a', 'b'])), { timeoutMs: 15_000 });
    await a.stop();
    await eventually(async () => expect(await batch(b)).toEqual(new Set(['b'])), { timeoutMs: 15_000 });
    const c = await startInstance('c', fast);
    await eventually(async () => expect(await batch(c)).toEqual(new Set(['b', 'c'])), { timeoutMs: 15_000 });
    expectOnceInOrder(effects(), range(1, next - 1));
  }, 60_000);

  it.each(['classic', 'quorum'] as const)(
    'keeps per-key order with 2 instances while one stops mid-stream and the other takes over (%s queues)',
    async (queueType) => {
      const slow: Behaviour = () => sleep(1);
      const a = await startInstance('a', { behaviour: slow, transport: { queueType } });
      const b = await startInstance('b', { behaviour: slow, transport: { queueType } });
      for (let batch = 0; batch < 10; batch++) {
        await stage(batch % 2 === 0 && batch < 5 ? a : b, range(batch * 30 + 1, batch * 30 + 30), 7);
        await sleep(20);
        if (batch === 4) await a.stop(); // mid-stream, with deliveries in flight and prefetched
      }
      const handled = await eventually(
        () => {
          const rows = effects();
          expect(new Set(rows.map((r) => r.n)).size).toBe(300);
          return rows;
        },
        { timeoutMs: 20_000, intervalMs: 50 },
      );
      expectOnceInOrder(handled, range(1, 300));
      expect(new Set(handled.map((e) => e.instance))).toEqual(new Set(['a', 'b']));
    },
    60_000,
  );

  it('puts bad messages on the broker DLQ dlq.<module>.retry with the reason and the attempts', async () => {
    const tk = await startInstance('a');
    const connection = await connect(amqpUrl);
    try {
      const channel = await connection.createConfirmChannel();
      const t: Topology = { namespace, partitions: 4, queueType: 'classic' };
      channel.sendToQueue(partitionQueue(t, 'alpha.things', 0), Buffer.from('not json at all'), {
        persistent: true,
      });
      channel.sendToQueue(partitionQueue(t, 'alpha.things', 1), Buffer.from(JSON.stringify({ hello: 1 })));
      await channel.waitForConfirms();
      await eventually(async () =>
        expect((await tk.kernel.listDeadLetters({ consumer: 'alpha.things' })).items).toHaveLength(2),
      );
      const dlq = deadLetterQueue(t, 'alpha');
      expect(dlq).toBe(`${namespace}dlq.alpha.retry`);
      // the copies are written after the dead letters are recorded: gather them as they come
      const copies: GetMessage[] = [];
      await eventually(async () => {
        const got = await channel.get(dlq);
        if (got) copies.push(got);
        expect(copies).toHaveLength(2);
      });
      const byBody = Object.fromEntries(copies.map((m) => [m.content.toString(), m.properties.headers]));
      expect(byBody['not json at all']).toMatchObject({ 'x-attempts': 1, 'x-consumer': 'alpha.things' });
      expect(String(byBody['not json at all']?.['x-error'])).toContain('not JSON');
      expect(String(byBody['{"hello":1}']?.['x-error'])).toContain('not an envelope');
      await eventually(async () =>
        expect(await tk.kernel.transport.stats()).toEqual([
          { consumer: 'alpha.things', depth: 0, lag: 0, partitions: [0, 1, 2, 3] },
        ]),
      );
    } finally {
      await connection.close();
    }
  });

  it('reads queue depth and consumer lag while messages wait, and both return to 0', async () => {
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const tk = await startInstance('a', {
      behaviour: () => gate,
      concurrency: 2,
      transport: { prefetch: 8 },
    });
    await stage(tk, range(1, 100), 10);
    const stats = await eventually(async () => {
      const [s] = await tk.kernel.transport.stats();
      expect(s?.lag).toBe(100); // all published; 8 delivered (2 in handlers), 92 waiting in the queues
      return s;
    });
    expect(stats).toEqual({ consumer: 'alpha.things', depth: 92, lag: 100, partitions: [0, 1, 2, 3] });
    open();
    await eventually(
      async () =>
        expect(await tk.kernel.transport.stats()).toEqual([
          { consumer: 'alpha.things', depth: 0, lag: 0, partitions: [0, 1, 2, 3] },
        ]),
      {
        timeoutMs: 10_000,
      },
    );
    expect(effects()).toHaveLength(100);
  });

  it('refuses to change the queue type of existing queues, with a clear error', async () => {
    const endpoint = bareEndpoint();
    const log = createLogger('silent');
    const classic = createRabbitMqTransport(log, transportOptions('a'));
    await classic.subscribe(endpoint);
    await classic.close();
    const quorum = createRabbitMqTransport(log, transportOptions('b', { queueType: 'quorum' }));
    try {
      const failure = await quorum.subscribe(endpoint).catch((error: unknown) => error);
      expect(String(failure)).toMatch(/exists with other arguments.*RABBITMQ_QUEUE_TYPE=quorum/s);
      expect(await quorum.health()).toMatchObject({ ok: true }); // the connection is fine
    } finally {
      await quorum.close();
    }
  });

  it.each([
    [4, [16, 2, 5, 1]],
    [16, [4, 17]],
  ])(
    'refuses to subscribe with another partition count than the queues have (%i; BUS_PARTITIONS %o)',
    async (created, others) => {
      const log = createLogger('silent');
      const first = createRabbitMqTransport(log, transportOptions('a', { partitions: created }));
      await first.subscribe(bareEndpoint());
      await first.close();
      for (const partitions of others) {
        const other = createRabbitMqTransport(log, transportOptions('b', { partitions }));
        try {
          const failure = await other.subscribe(bareEndpoint()).catch((error: unknown) => error);
          expect(failure).toBeInstanceOf(ConfigError);
          expect((failure as ConfigError).message).toBe(
            `BUS_PARTITIONS: consumer alpha.things has ${created} partitions on this broker, BUS_PARTITIONS is ` +
              `${partitions} (set BUS_PARTITIONS=${created}, or drain and re-create the consumer's queues: see README)`,
          );
          expect(await other.health()).toMatchObject({ ok: true }); // the connection is fine
        } finally {
          await other.close();
        }
      }
      const same = createRabbitMqTransport(log, transportOptions('c', { partitions: created }));
      await same.subscribe(bareEndpoint());
      expect(await same.stats()).toMatchObject([{ partitions: range(0, created - 1) }]);
      await same.close();
    },
  );

  it('moves a batch of 2000 messages from publish to handled (throughput, printed)', async () => {
    const tk = await startInstance('a', { concurrency: 8 });
    const started = Date.now();
    await stage(tk, range(1, 2000), 50);
    await eventually(async () => expect(effects()).toHaveLength(2000), { timeoutMs: 30_000, intervalMs: 50 });
    const seconds = (Date.now() - started) / 1000;
    console.info(
      `rabbitmq: 2000 messages published and handled in ${seconds.toFixed(2)} s (${Math.round(2000 / seconds)} msg/s)`,
    );
    expectOnceInOrder(effects(), range(1, 2000));
  });
});

/** alpha.things with no kernel behind it: for the cases that only subscribe. */
function bareEndpoint(): ConsumerEndpoint {
  return {
    name: 'alpha.things',
    module: 'alpha',
    types: [thingHappened.type],
    handles: [thingHappened.type],
    concurrency: 1,
    database: undefined as never, // not used by this transport
    deliver: async () => ({ kind: 'handled' }),
  };
}
