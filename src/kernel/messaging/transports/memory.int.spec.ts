import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../observability/logger.js';
import { type ModuleDatabase, openModuleDatabase } from '../../persistence/db.js';
import { migrateModuleDatabase } from '../../persistence/migrate.js';
import { eventually } from '../../testing/index.js';
import type { ConsumerEndpoint, Transport } from '../transport.js';
import { createMemoryTransport } from './memory.js';
import { rawEnvelope } from './transport.conformance.fixtures.js';
import { describeTransportConformance } from './transport.conformance.js';

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
    migrateModuleDatabase(db);
    transport = createMemoryTransport(createLogger('silent'));
    const calls: number[] = [];
    const endpoint: ConsumerEndpoint = {
      name: 'alpha.things',
      module: 'alpha',
      types: ['source.thing-happened'],
      concurrency: 1,
      database: db,
      deliver: async (_raw, _attempt, settle) => {
        calls.push(Date.now());
        if (calls.length === 1) throw new Error('SQLITE_BUSY: database is locked'); // e.g. dead-lettering failed
        db.writeTransaction(() => settle?.());
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
});
