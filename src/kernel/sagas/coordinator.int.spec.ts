import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type TripWorld, tripModules, tripRequested } from '../testing/fixtures/trip.js';
import { eventually, startTestKernel, type TestKernel } from '../testing/index.js';

let running: TestKernel | undefined;
afterEach(async () => {
  await running?.dispose();
  running = undefined;
});

function rows(tk: TestKernel, module: string, query: string): unknown[] {
  const db = new Database(join(tk.dataDir, `${module}.db`), { readonly: true });
  try {
    return db.prepare(query).all();
  } finally {
    db.close();
  }
}

async function start(world: TripWorld, dataDir?: string): Promise<TestKernel> {
  running = await startTestKernel({ modules: tripModules(world), ...(dataDir ? { dataDir } : {}) });
  return running;
}

function requestTrip(tk: TestKernel, tripId: string, city: string): void {
  tk.context('trips').transact((tx) => tx.stage(tripRequested({ tripId, city })));
}

describe('saga coordinator, end to end through the bus', () => {
  it('runs the happy path to completed, and the owning module records the outcome', async () => {
    const tk = await start({ full: new Set(), silent: new Set() });
    requestTrip(tk, 't1', 'Oslo');
    await eventually(() =>
      expect(rows(tk, 'trips', 'SELECT trip_id, status, reason FROM trips_outcomes')).toEqual([
        { trip_id: 't1', status: 'completed', reason: null },
      ]),
    );
    expect(tk.kernel.listSagas().items).toMatchObject([
      { id: 't1', name: 'trips.booking', status: 'completed', deadline: null },
    ]);
    expect(rows(tk, 'flights', 'SELECT state FROM flights_seats')).toEqual([{ state: 'reserved' }]);
  });

  it('compensates the reserved seat when no room is free', async () => {
    const tk = await start({ full: new Set(['Rome']), silent: new Set() });
    requestTrip(tk, 't2', 'Rome');
    await eventually(() =>
      expect(rows(tk, 'trips', 'SELECT status, reason FROM trips_outcomes')).toEqual([
        { status: 'compensated', reason: 'no_room' },
      ]),
    );
    expect(rows(tk, 'flights', 'SELECT state FROM flights_seats ORDER BY rowid')).toEqual([
      { state: 'reserved' },
      { state: 'cancelled' },
    ]);
  });

  it('times out a step after a restart: the deadline is durable', async () => {
    const world = { full: new Set<string>(), silent: new Set(['Nowhere']) };
    const first = await start(world);
    requestTrip(first, 't3', 'Nowhere');
    await eventually(() =>
      expect(first.kernel.listSagas().items).toMatchObject([{ step: 'room', status: 'running' }]),
    );
    const dataDir = first.dataDir;
    await first.stop(); // the process goes away before the 300 ms deadline
    running = undefined;
    expect(rows(first, 'trips', 'SELECT * FROM trips_outcomes')).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const second = await start(world, dataDir);
    // compensated only once both cancel-room (the timed-out step) and cancel-seat were answered
    await eventually(() =>
      expect(rows(second, 'trips', 'SELECT status, reason FROM trips_outcomes')).toEqual([
        { status: 'compensated', reason: 'timeout' },
      ]),
    );
    expect(rows(second, 'flights', 'SELECT state FROM flights_seats ORDER BY rowid')).toEqual([
      { state: 'reserved' },
      { state: 'cancelled' },
    ]);
    expect(second.kernel.listSagas({ status: 'compensated' }).items).toHaveLength(1);
    const [row] = rows(second, 'trips', 'SELECT steps FROM kernel_sagas') as { steps: string }[];
    expect(JSON.parse(row?.steps ?? '{}')).toMatchObject({ awaiting: [] });
  });

  it('keeps instances apart: many trips, each reaching exactly one outcome', async () => {
    const tk = await start({ full: new Set(['Rome']), silent: new Set() });
    for (let i = 0; i < 40; i++) requestTrip(tk, `m${i}`, i % 3 === 0 ? 'Rome' : 'Oslo');
    await eventually(() => expect(rows(tk, 'trips', 'SELECT * FROM trips_outcomes')).toHaveLength(40), {
      timeoutMs: 10_000,
    });
    const outcomes = rows(
      tk,
      'trips',
      'SELECT status, COUNT(*) AS n FROM trips_outcomes GROUP BY status ORDER BY status',
    );
    expect(outcomes).toEqual([
      { status: 'compensated', n: 14 },
      { status: 'completed', n: 26 },
    ]);
  });
});
