import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../observability/logger.js';
import { type ModuleDatabase, openModuleDatabase } from '../../../persistence/db.js';
import { migrateModuleDatabase } from '../../../persistence/migrate.js';
import { eventually } from '../../../testing/index.js';
import type { ConsumerEndpoint, Transport } from '../../transport.js';
import { rawEnvelope } from '../testing/conformance/fixtures.js';
import { describeTransportConformance } from '../testing/conformance/suite.js';
import { createMemoryTransport } from './memory.js';

describeTransportConformance('memory', createMemoryTransport, {
  // The memory transport keeps each consumer's queue in its module database: redeliver writes
  // the raw text there as a delivery, exactly as publish would have.
  injectRaw: (endpoint, raw, kernel) => kernel.transport.redeliver(endpoint, raw),
});

describe('memory transport', () => {
  let dataDir: string | undefined;
  let database: ModuleDatabase | undefined;
  let transport: Transport | undefined;
  afterEach(async () => {
    await transport?.close();
    database?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('pauses a consumer whose delivery fails outside the handler, then delivers again', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'memory-transport-'));
    const db = openModuleDatabase(dataDir, 'alpha');
    database = db;
    await migrateModuleDatabase(db);
    transport = createMemoryTransport(createLogger('silent'));
    const calls: number[] = [];
    const endpoint: ConsumerEndpoint = {
      name: 'alpha.things',
      module: 'alpha',
      types: ['source.thing-happened'],
      handles: ['source.thing-happened'],
      concurrency: 1,
      database: db,
      deliver: async (_raw, _attempt, settle) => {
        calls.push(Date.now());
        if (calls.length === 1) throw new Error('SQLITE_BUSY: database is locked'); // e.g. dead-lettering failed
        await db.transaction(() => settle?.());
        return { kind: 'handled' };
      },
    };
    await transport.subscribe(endpoint);
    await transport.redeliver(endpoint, rawEnvelope('source.thing-happened', { key: 'k', n: 1 }, 1, 'k'));
    await eventually(() => expect(calls).toHaveLength(2), { timeoutMs: 5000 });
    const [first = 0, second = 0] = calls;
    expect(second - first).toBeGreaterThanOrEqual(1000); // paused, not a hot loop
    await eventually(async () =>
      expect(await transport?.stats()).toEqual([{ consumer: 'alpha.things', depth: 0, lag: 0 }]),
    );
    expect(calls).toHaveLength(2);
  });

  /** A fresh module database, a memory transport, and an endpoint recording what it was given. */
  const setUp = async (concurrency: number, gate?: (n: number) => Promise<void>) => {
    dataDir = mkdtempSync(join(tmpdir(), 'memory-transport-'));
    const db = openModuleDatabase(dataDir, 'alpha');
    database = db;
    await migrateModuleDatabase(db);
    transport = createMemoryTransport(createLogger('silent'));
    const calls: { key: string; n: number; attempt: number }[] = [];
    const endpoint: ConsumerEndpoint = {
      name: 'alpha.things',
      module: 'alpha',
      types: ['source.thing-happened'],
      handles: ['source.thing-happened'],
      concurrency,
      database: db,
      deliver: async (raw, attempt, settle) => {
        const { partitionkey: key, data } = JSON.parse(raw.toString()) as {
          partitionkey: string;
          data: { n: number };
        };
        calls.push({ key, n: data.n, attempt });
        await gate?.(data.n);
        await db.transaction(() => settle?.());
        return { kind: 'handled' };
      },
    };
    return { db, endpoint, calls };
  };
  const thing = (key: string, n: number) => rawEnvelope('source.thing-happened', { key, n }, 1, key);

  it('resumes the rows of an earlier run in per-key order, a head waiting for its retry included', async () => {
    const { db, endpoint, calls } = await setUp(4);
    const insert = db.writer.prepare(
      `INSERT INTO kernel_deliveries (consumer, message_id, partition_key, envelope, attempts, available_at)
       VALUES ('alpha.things', ?, ?, ?, ?, ?)`,
    );
    const now = Date.now();
    insert.run('a1', 'a', thing('a', 1), 1, now + 300); // failed once before the crash, retry due later
    insert.run('b1', 'b', thing('b', 1), 0, now);
    insert.run('a2', 'a', thing('a', 2), 0, now);
    insert.run('b2', 'b', thing('b', 2), 0, now);
    await transport?.subscribe(endpoint);
    await eventually(() => expect(calls).toHaveLength(4));
    const of = (key: string) =>
      calls.filter((call) => call.key === key).map(({ n, attempt }) => [n, attempt]);
    expect(of('a')).toEqual([
      [1, 2],
      [2, 1],
    ]);
    expect(of('b')).toEqual([
      [1, 1],
      [2, 1],
    ]);
    expect(calls.slice(0, 2).map((call) => call.key)).toEqual(['b', 'b']); // a waited for its retry
    expect(await transport?.stats()).toEqual([{ consumer: 'alpha.things', depth: 0, lag: 0 }]);
  });

  it('skips a queued delivery whose row is gone, and keeps the key flowing', async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { db, endpoint, calls } = await setUp(1, (n) => (n === 1 ? held : Promise.resolve()));
    await transport?.subscribe(endpoint);
    for (const n of [1, 2, 3]) await transport?.redeliver(endpoint, thing('k', n));
    await eventually(() => expect(calls).toHaveLength(1));
    // e.g. settled by a delivery whose outcome was lost: the index still holds it, the table not
    db.writer.prepare('DELETE FROM kernel_deliveries WHERE envelope LIKE \'%"n":2%\'').run();
    release();
    await eventually(() => expect(calls.map((call) => call.n)).toEqual([1, 3]));
    expect(await transport?.stats()).toEqual([{ consumer: 'alpha.things', depth: 0, lag: 0 }]);
  });
});
