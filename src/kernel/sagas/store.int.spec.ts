import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openModuleDatabase, type SqliteModuleDatabase } from '../persistence/db.js';
import { migrateModuleDatabase } from '../persistence/migrate.js';
import { cancelRoom, cancelSeat, roomCancelled, seatCancelled } from '../testing/fixtures/trip.js';
import { type SagaInstance, undo } from './saga.js';
import { createSagaStore, type SagaStore } from './store.js';

const trip = { tripId: 't1', city: 'Oslo' };
const compensating: SagaInstance<unknown> = {
  name: 'trips.booking',
  id: 't1',
  status: 'compensating',
  step: 'compensating',
  state: { trip, seat: 'reserved' },
  steps: [
    { step: 'seat', compensation: [undo(cancelSeat(trip), seatCancelled)] },
    { step: 'room', compensation: [undo(cancelRoom(trip), roomCancelled)] },
  ],
  awaiting: [roomCancelled.type, seatCancelled.type],
  reason: 'timeout',
  correlationId: 'c1',
  lastSentId: 'm1',
  lastSentSeq: 7,
  deadline: 1_000,
  version: 1,
};

let dataDir: string;
let database: SqliteModuleDatabase;
let store: SagaStore;
beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'saga-store-'));
  database = openModuleDatabase(dataDir, 'trips');
  await migrateModuleDatabase(database);
  store = createSagaStore(database);
});
afterEach(async () => {
  await database.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Store writes run inside a transaction of the database, as the coordinator's do. */
const inTx = <T>(fn: () => T): Promise<T> => database.transaction(fn);

describe('saga store', () => {
  it('keeps the replies a compensating instance awaits, with its steps, in the stored columns', async () => {
    await inTx(() => store.save(compensating));
    expect(await store.load('trips.booking', 't1')).toEqual(compensating);
    await inTx(() => store.save({ ...compensating, awaiting: [seatCancelled.type], version: 2 }));
    expect((await store.load('trips.booking', 't1'))?.awaiting).toEqual([seatCancelled.type]);
    expect((await store.due(1_000)).map((i) => i.awaiting)).toEqual([[seatCancelled.type]]);
  });

  it('reads a row written before `awaiting` existed (the steps array alone) as awaiting nothing', async () => {
    await inTx(() => store.save({ ...compensating, status: 'completed', awaiting: [] }));
    database.writer.prepare('UPDATE kernel_sagas SET steps = ?').run(JSON.stringify(compensating.steps));
    expect(await store.load('trips.booking', 't1')).toMatchObject({
      steps: compensating.steps,
      awaiting: [],
    });
  });

  it('reads a compensation stored before replies were named as sent and not awaited', async () => {
    const legacySteps = compensating.steps.map(({ step, compensation }) => ({
      step,
      compensation: compensation.map((c) => c.message),
    }));
    await inTx(() => store.save({ ...compensating, status: 'running', step: 'room', awaiting: [] }));
    database.writer.prepare('UPDATE kernel_sagas SET steps = ?').run(JSON.stringify(legacySteps));
    const loaded = await store.load('trips.booking', 't1');
    expect(loaded?.steps).toEqual(
      compensating.steps.map(({ step, compensation }) => ({
        step,
        compensation: compensation.map((c) => ({ message: c.message, awaitsReply: null })),
      })),
    );
  });

  it('refuses an update from a stale version', async () => {
    await inTx(() => store.save(compensating));
    await expect(inTx(() => store.save({ ...compensating, version: 3 }))).rejects.toThrow(
      /changed concurrently/,
    );
  });

  it('moves the deadlines armed before a bus outage by its length, once, however many processes report it', async () => {
    const now = Date.now();
    const running = { ...compensating, status: 'running' as const, step: 'room', awaiting: [] };
    await inTx(() => store.save({ ...running, id: 'before', deadline: now + 30_000 }));
    await inTx(() => store.save({ ...running, id: 'due-before', deadline: now - 1 }));
    const outage = { since: now + 5, seenAt: now + 10, until: now + 60_005 };
    expect(await inTx(() => store.shiftDeadlines(outage, now + 60_010))).toBe(1);
    // a second process of this database saw the same outage a little later
    expect(
      await inTx(() =>
        store.shiftDeadlines({ since: now + 8, seenAt: now + 20, until: now + 60_030 }, now + 60_040),
      ),
    ).toBe(0);
    expect((await store.load('trips.booking', 'before'))?.deadline).toBe(now + 90_000);
    expect((await store.load('trips.booking', 'due-before'))?.deadline).toBe(now - 1);
  });
});
