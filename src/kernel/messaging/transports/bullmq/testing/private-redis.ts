/**
 * Test helpers of the BullMQ transport (tests only): a redis-server of a test file's own, on a
 * free port, with AOF (`appendfsync always`), so a test can restart it without disturbing other
 * test files that use the shared Redis; a consumer endpoint without a database; messages.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { ModuleDatabase } from '../../../../persistence/db.js';
import { freePort } from '../../../../testing/ports.js';
import type { Envelope } from '../../../envelope.js';
import type { ConsumerEndpoint, DeliveryOutcome, Transport } from '../../../transport.js';
import { partitionOf } from '../../partition.js';
import { leaseKeyPrefix, partitionQueueName, peekRaw } from '../keys.js';

/** Why a private redis-server cannot be started here, or undefined. */
export function redisServerMissingReason(): string | undefined {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'redis-server is not on PATH (needed for a private Redis the test can restart)';
  }
}

/** Sends one inline command; resolves with the first reply line (or '' when the server closed). */
export function rawCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('timeout')));
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) {
        socket.end();
        resolve(reply.split('\r\n')[0] ?? '');
      }
    });
    socket.once('close', () => resolve(reply));
    socket.once('error', reject);
  });
}

export class TestRedis {
  readonly port: number;
  readonly dir: string;
  readonly #args: string[];
  readonly #password: string | undefined;
  #process: ChildProcess | undefined;

  private constructor(
    port: number,
    dir: string,
    aof: boolean,
    fsync: 'always' | 'everysec',
    password: string | undefined,
  ) {
    this.port = port;
    this.dir = dir;
    this.#password = password;
    this.#args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
    this.#args.push('--appendonly', aof ? 'yes' : 'no', '--appendfsync', fsync, '--logfile', 'redis.log');
    if (password !== undefined) this.#args.push('--requirepass', password);
  }

  /**
   * `password`: the server requires it (`--requirepass`); `url` does not carry it. `fsync`: the AOF
   * is fsynced at every write (default) or every second (a load test: `down()` still shuts down
   * cleanly, so nothing written is lost across a restart).
   */
  static async start({
    aof = true,
    fsync = 'always',
    password,
  }: {
    aof?: boolean;
    fsync?: 'always' | 'everysec';
    password?: string;
  } = {}): Promise<TestRedis> {
    const dir = mkdtempSync(join(tmpdir(), 'bullmq-redis-'));
    const redis = new TestRedis(await freePort(), dir, aof, fsync, password);
    await redis.#spawn();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** SHUTDOWN (AOF is fsynced at every write), then a new server over the same directory. */
  async restart(downMs = 300): Promise<void> {
    await this.#shutdown();
    await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.#spawn();
  }

  /** SHUTDOWN, until `up()`. */
  down(): Promise<void> {
    return this.#shutdown();
  }

  /** A new server over the same directory (after `down()`). */
  up(): Promise<void> {
    return this.#spawn();
  }

  async stop(): Promise<void> {
    await this.#shutdown();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async #spawn(): Promise<void> {
    const child = spawn('redis-server', this.#args, { stdio: 'ignore' });
    this.#process = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`redis-server exited with ${child.exitCode} (see ${this.dir})`);
      const reply = await rawCommand(this.port, 'PING').catch(() => '');
      if (reply === '+PONG' || (this.#password !== undefined && reply.startsWith('-NOAUTH'))) return;
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} does not answer`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async #shutdown(): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // an unauthenticated SHUTDOWN is refused: SIGTERM shuts redis-server down the same way
    if (this.#password !== undefined) child.kill('SIGTERM');
    else await rawCommand(this.port, 'SHUTDOWN').catch(() => child.kill('SIGKILL'));
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
    this.#process = undefined;
  }
}

/**
 * For a spec file: a private redis-server for the whole file (unless `skip`), and a new key
 * prefix per test, so each test (and the restarts inside it) sees only its own queues.
 */
export function usePrivateRedis(skip: string | undefined): {
  url(): string;
  prefix(): string;
  server(): TestRedis;
} {
  const runId = Math.random().toString(36).slice(2, 8);
  let server: TestRedis | undefined;
  let prefix = '';
  let testNumber = 0;
  beforeAll(async () => {
    if (!skip) server = await TestRedis.start();
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
  });
  beforeEach(() => {
    prefix = `bq-${runId}-${++testNumber}`;
  });
  const running = () => {
    if (!server) throw new Error('the private redis-server is not running');
    return server;
  };
  return { url: () => running().url, prefix: () => prefix, server: running };
}

/** Adds a job by hand to the partition queue a raw message belongs to, as another producer might. */
export async function addJobByHand(
  url: string,
  prefix: string,
  consumer: string,
  raw: string,
  partitions = 4,
): Promise<void> {
  const queueName = partitionQueueName(consumer, partitionOf(peekRaw(raw).partitionKey, partitions));
  const queue = new Queue(queueName, { connection: { url }, prefix });
  try {
    await queue.add('by-hand', raw, { removeOnComplete: true });
  } finally {
    await queue.close();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const TYPE = 'source.thing-happened';

export function envelope(key: string, n: number): Envelope {
  return {
    specversion: '1.0',
    id: randomUUID(),
    source: 'source',
    type: TYPE,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    schemaversion: 1,
    correlationid: randomUUID(),
    causationid: null,
    partitionkey: key,
    data: { key, n },
  };
}

export interface Seen {
  readonly key: string;
  readonly n: number;
  readonly by: string;
}

/**
 * A consumer instance without a database: `inbox` (shared by the instances, as their module's
 * database would be) turns a redelivery into a duplicate; `handled` records effects in order;
 * `overlaps` lists keys that ran on two deliveries at once (on any instance).
 */
export class FakeConsumer {
  readonly inbox = new Set<string>();
  readonly handled: Seen[] = [];
  readonly deliveries: Seen[] = [];
  readonly overlaps: string[] = [];
  readonly #inFlight = new Set<string>();

  endpoint(
    by: string,
    concurrency = 4,
    pauseMs = () => Math.random() * 3,
    name = 'alpha.things',
  ): ConsumerEndpoint {
    return {
      name,
      module: name.split('.')[0] ?? name,
      types: [TYPE],
      handles: [TYPE],
      concurrency,
      database: undefined as unknown as ModuleDatabase,
      deliver: async (raw): Promise<DeliveryOutcome> => {
        const message = JSON.parse(raw.toString()) as Envelope<{ key: string; n: number }>;
        const { key, n } = message.data;
        this.deliveries.push({ key, n, by });
        if (this.inbox.has(message.id)) return { kind: 'duplicate' };
        if (this.#inFlight.has(key)) this.overlaps.push(key);
        this.#inFlight.add(key);
        await sleep(pauseMs());
        this.#inFlight.delete(key);
        this.inbox.add(message.id);
        this.handled.push({ key, n, by });
        return { kind: 'handled' };
      },
    };
  }

  /** Keys whose effects are not in publish (n) order. */
  outOfOrder(seen: readonly Seen[] = this.handled): string[] {
    const last = new Map<string, number>();
    const bad = new Set<string>();
    for (const { key, n } of seen) {
      if ((last.get(key) ?? 0) > n) bad.add(key);
      last.set(key, n);
    }
    return [...bad];
  }
}

export async function publishAll(
  publisher: Transport,
  messages: readonly Envelope[],
  batch = 20,
): Promise<void> {
  for (let i = 0; i < messages.length; i += batch) await publisher.publish(messages.slice(i, i + batch));
}

export const stream = (count: number, keys: number) =>
  Array.from({ length: count }, (_, i) => envelope(`k${i % keys}`, i + 1));

/** The holder of each of a consumer's 4 partition leases (null when free). */
async function leaseOwners(url: string, prefix: string, consumer: string): Promise<(string | null)[]> {
  const redis = new Redis(url);
  try {
    const keys = Array.from({ length: 4 }, (_, i) => `${leaseKeyPrefix(prefix, consumer)}${i}`);
    return await redis.mget(...keys);
  } finally {
    redis.disconnect();
  }
}

/** The instances holding the partition leases of a consumer (sorted; free partitions left out). */
export async function leaseHolders(
  url: string,
  prefix: string,
  consumer = 'alpha.things',
): Promise<string[]> {
  const holders = await leaseOwners(url, prefix, consumer);
  return holders.filter((h): h is string => h !== null).sort();
}

/** The partitions (of 4) whose lease `instance` holds. */
export async function partitionsHeldBy(
  url: string,
  prefix: string,
  instance: string,
  consumer = 'alpha.things',
): Promise<number[]> {
  const holders = await leaseOwners(url, prefix, consumer);
  return holders.flatMap((holder, partition) => (holder === instance ? [partition] : []));
}
