/**
 * Processes sharing a module database (instances of a module on one host) publish its outbox one
 * at a time: the relay holding the `outbox-relay` lease publishes, the others stand by and take
 * over when it stops, when its lease expires, or at once when its process is dead.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../messaging/envelope.js';
import type { Transport } from '../messaging/transport.js';
import { createLogger } from '../observability/logger.js';
import { KernelMetrics } from '../observability/metrics.js';
import { openModuleDatabase, type SqliteModuleDatabase } from '../persistence/db.js';
import { migrateModuleDatabase } from '../persistence/migrate.js';
import { eventually } from '../testing/index.js';
import { DatabaseLease, holderIsDead } from './lease.js';
import { OutboxRelay } from './relay.js';

const log = createLogger('silent');
const FAST = { sweepIntervalMs: 50, leaseTtlMs: 400 };

/** A transport that records what it was given to publish. */
function recorder(): { transport: Transport; published: string[] } {
  const published: string[] = [];
  const transport: Transport = {
    name: 'memory',
    publish: async (messages: readonly Envelope[]) => {
      published.push(...messages.map((m) => m.id));
    },
    subscribe: async () => {},
    provision: async () => {},
    route: async () => {},
    redeliver: async () => {},
    stats: async () => [],
    health: async () => ({ ok: true }),
    connected: () => true,
    close: async () => {},
  };
  return { transport, published };
}

let counter = 0;
async function stage(database: SqliteModuleDatabase, n: number): Promise<string[]> {
  const ids: string[] = [];
  const insert = database.writer.prepare(
    'INSERT INTO kernel_outbox (id, type, partition_key, envelope, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  await database.transaction(() => {
    for (let i = 0; i < n; i++) {
      const id = `m-${++counter}`;
      insert.run(id, 'alpha.thing', 'k', JSON.stringify({ id, type: 'alpha.thing' }), Date.now());
      ids.push(id);
    }
  });
  return ids;
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('one relay at a time per module database', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function open(dataDir: string): Promise<SqliteModuleDatabase> {
    const database = openModuleDatabase(dataDir, 'alpha');
    await migrateModuleDatabase(database);
    cleanups.push(() => database.close());
    return database;
  }

  function relay(database: SqliteModuleDatabase, transport: Transport): OutboxRelay {
    const r = new OutboxRelay(database, transport, log, new KernelMetrics(), FAST);
    cleanups.push(() => r.stop());
    return r;
  }

  function dataDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'relay-lease-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  it('publishes through one relay only; the other takes over when it stops', async () => {
    const dir = dataDir();
    const [dbA, dbB] = [await open(dir), await open(dir)];
    const a = recorder();
    const b = recorder();
    const relayA = relay(dbA, a.transport);
    const relayB = relay(dbB, b.transport);
    relayA.start();
    await eventually(() =>
      expect(dbA.writer.prepare('SELECT COUNT(*) AS n FROM kernel_leases').get()).toEqual({ n: 1 }),
    );
    relayB.start();

    const first = [...(await stage(dbA, 5)), ...(await stage(dbB, 5))];
    relayB.wake();
    await eventually(() => expect(a.published).toEqual(first));
    await new Promise((resolve) => setTimeout(resolve, 4 * FAST.sweepIntervalMs));
    expect(b.published).toEqual([]);

    await relayA.stop();
    const second = await stage(dbA, 3);
    await eventually(() => expect(b.published).toEqual(second));
    expect(a.published).toEqual(first);
  });

  it('takes the lease over once the holder stopped renewing it (expired)', async () => {
    const dir = dataDir();
    const db = await open(dir);
    const lease = new DatabaseLease(db, 'outbox-relay', 300, 'elsewhere:4242:abcd');
    expect(await lease.hold()).toBe(true);
    const b = recorder();
    const relayB = relay(db, b.transport);
    const ids = await stage(db, 2);
    const startedAt = Date.now();
    relayB.start();
    await eventually(() => expect(b.published).toEqual(ids));
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(250);
  });

  it('takes the lease at once from a dead process of this host', async () => {
    const dir = dataDir();
    const db = await open(dir);
    const holder = `${hostname()}:${deadPid()}:dead`;
    expect(holderIsDead(holder)).toBe(true);
    expect(holderIsDead(`${hostname()}:${process.pid}:other`)).toBe(false);
    expect(holderIsDead(`another-host:${deadPid()}:x`)).toBe(false);
    expect(await new DatabaseLease(db, 'outbox-relay', 60_000, holder).hold()).toBe(true);
    const b = recorder();
    const relayB = relay(db, b.transport);
    const ids = await stage(db, 2);
    const startedAt = Date.now();
    relayB.start();
    await eventually(() => expect(b.published).toEqual(ids));
    expect(Date.now() - startedAt).toBeLessThan(5000);
  });

  it('a live holder keeps its lease: a second claimant is refused until it expires', async () => {
    const db = await open(dataDir());
    const now = Date.now();
    const a = new DatabaseLease(db, 'x', 1000, 'host-a:1:a');
    const b = new DatabaseLease(db, 'x', 1000, 'host-b:1:b');
    expect(await a.hold(now)).toBe(true);
    expect(await b.hold(now + 10)).toBe(false);
    expect(await a.hold(now + 600)).toBe(true); // renewed: now expires at now + 1600
    expect(await b.hold(now + 1200)).toBe(false);
    expect(await b.hold(now + 1601)).toBe(true);
    expect(await a.hold(now + 1602)).toBe(false);
    await b.release();
    expect(await a.hold(now + 1603)).toBe(true);
  });
});
