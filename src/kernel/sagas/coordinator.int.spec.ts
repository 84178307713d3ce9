import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../messaging/envelope.js';
import type { ConsumerEndpoint, Transport } from '../messaging/transport.js';
import { createMemoryTransport } from '../messaging/transports/memory/memory.js';
import type { Logger } from '../observability/logger.js';
import { overriding } from '../testing/consumer-hook.js';
import {
  bookRoom,
  seatReserved,
  type TripWorld,
  tripModules,
  tripRequested,
  tripSaga,
} from '../testing/fixtures/trip.js';
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

async function start(
  world: TripWorld,
  dataDir?: string,
  transport?: (log: Logger) => Transport,
): Promise<TestKernel> {
  running = await startTestKernel({
    modules: tripModules(world),
    ...(dataDir ? { dataDir } : {}),
    ...(transport ? { transport } : {}),
  });
  return running;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const outcomes = (tk: TestKernel) => rows(tk, 'trips', 'SELECT trip_id, status, reason FROM trips_outcomes');
const hasType = (messages: readonly Envelope[], type: string) => messages.some((m) => m.type === type);

/**
 * A memory transport that reports itself down for `ms` from the first publish of book-room on
 * (messages still flow: only `connected()` says it is down, which is what the coordinator reads).
 */
function downOnceBookRoomIsPublished(ms: number): (log: Logger) => Transport {
  return (log) => {
    const memory = createMemoryTransport(log);
    let down = false;
    let done = false;
    return overriding(memory, {
      publish: async (messages) => {
        await memory.publish(messages);
        if (done || !hasType(messages, bookRoom.type)) return;
        done = true;
        down = true;
        setTimeout(() => {
          down = false;
        }, ms);
      },
      connected: () => !down,
    });
  };
}

/** The endpoint, its deliveries of `type` held back `ms` first (a backlog in front of them). */
function slowed(endpoint: ConsumerEndpoint, type: string, ms: number): ConsumerEndpoint {
  return {
    name: endpoint.name,
    module: endpoint.module,
    handles: endpoint.handles,
    get types() {
      return endpoint.types;
    },
    concurrency: endpoint.concurrency,
    database: endpoint.database,
    deliver: async (raw, attempt, settle) => {
      if ((JSON.parse(raw.toString()) as Envelope).type === type) await sleep(ms);
      return endpoint.deliver(raw, attempt, settle);
    },
  };
}

async function requestTrip(tk: TestKernel, tripId: string, city: string): Promise<void> {
  await tk.context('trips').transact((tx) => tx.stage(tripRequested({ tripId, city })));
}

describe('saga coordinator, end to end through the bus', () => {
  it('runs the happy path to completed, and the owning module records the outcome', async () => {
    const tk = await start({ full: new Set(), silent: new Set() });
    await requestTrip(tk, 't1', 'Oslo');
    await eventually(async () =>
      expect(rows(tk, 'trips', 'SELECT trip_id, status, reason FROM trips_outcomes')).toEqual([
        { trip_id: 't1', status: 'completed', reason: null },
      ]),
    );
    expect((await tk.kernel.listSagas()).items).toMatchObject([
      { id: 't1', name: 'trips.booking', status: 'completed', deadline: null },
    ]);
    expect(rows(tk, 'flights', 'SELECT state FROM flights_seats')).toEqual([{ state: 'reserved' }]);
  });

  it('compensates the reserved seat when no room is free', async () => {
    const tk = await start({ full: new Set(['Rome']), silent: new Set() });
    await requestTrip(tk, 't2', 'Rome');
    await eventually(async () =>
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
    await requestTrip(first, 't3', 'Nowhere');
    await eventually(async () =>
      expect((await first.kernel.listSagas()).items).toMatchObject([{ step: 'room', status: 'running' }]),
    );
    const dataDir = first.dataDir;
    await first.stop(); // the process goes away before the 300 ms deadline
    running = undefined;
    expect(rows(first, 'trips', 'SELECT * FROM trips_outcomes')).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const second = await start(world, dataDir);
    // compensated only once both cancel-room (the timed-out step) and cancel-seat were answered
    await eventually(async () =>
      expect(rows(second, 'trips', 'SELECT status, reason FROM trips_outcomes')).toEqual([
        { status: 'compensated', reason: 'timeout' },
      ]),
    );
    expect(rows(second, 'flights', 'SELECT state FROM flights_seats ORDER BY rowid')).toEqual([
      { state: 'reserved' },
      { state: 'cancelled' },
    ]);
    expect((await second.kernel.listSagas({ status: 'compensated' })).items).toHaveLength(1);
    const [row] = rows(second, 'trips', 'SELECT steps FROM kernel_sagas') as { steps: string }[];
    expect(JSON.parse(row?.steps ?? '{}')).toMatchObject({ awaiting: [] });
  });

  it('keeps instances apart: many trips, each reaching exactly one outcome', async () => {
    const tk = await start({ full: new Set(['Rome']), silent: new Set() });
    for (let i = 0; i < 40; i++) await requestTrip(tk, `m${i}`, i % 3 === 0 ? 'Rome' : 'Oslo');
    await eventually(async () => expect(rows(tk, 'trips', 'SELECT * FROM trips_outcomes')).toHaveLength(40), {
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

// The trip saga's step timeout is 300 ms (tripSaga.stepTimeoutMs); each case below keeps a reply
// away from the saga for longer than that, through the system's own delays only.
describe("saga step timeouts measure the business wait, not the system's delays", () => {
  it('counts a step from when its request was published: a relay that could not publish for a while does not time it out', async () => {
    let holding = true;
    setTimeout(() => {
      holding = false;
    }, 1000);
    const tk = await start({ full: new Set(), silent: new Set() }, undefined, (log) => {
      const memory = createMemoryTransport(log);
      return overriding(memory, {
        // the broker refuses the batch with book-room for a second; the bus reports itself up
        publish: async (messages) => {
          if (holding && hasType(messages, bookRoom.type)) throw new Error('broker refused the batch');
          await memory.publish(messages);
        },
      });
    });
    await requestTrip(tk, 'p1', 'Oslo');
    await eventually(
      () => expect(outcomes(tk)).toEqual([{ trip_id: 'p1', status: 'completed', reason: null }]),
      {
        timeoutMs: 10_000,
      },
    );
    expect(holding).toBe(false); // book-room went out only after the hold, well past 300 ms
  });

  it('counts a step from its request even where published rows are pruned at once: the request a step waits on is kept', async () => {
    // Step timeout 2.5 s. The broker refuses book-room for 1 s from its first attempt (the relay's
    // backoff and sweep publish it 1 to 2 s after staging), and the hotel answers 1.5 s after it is
    // published: in time, but after the deadline first comes due (2.5 s after staging). Then the
    // coordinator reads the request's publication to move the deadline; had the pruner deleted that
    // published row, the step would count from its staging and time out.
    let refusingUntil: number | undefined;
    const world = {
      full: new Set<string>(),
      silent: new Set<string>(),
      lateMs: new Map([['Lima', 1500]]),
      stepTimeoutMs: 2500,
    };
    running = await startTestKernel({
      modules: tripModules(world),
      pruner: { outboxRetentionMs: 0, intervalMs: 50 },
      transport: (log) => {
        const memory = createMemoryTransport(log);
        return overriding(memory, {
          publish: async (messages) => {
            if (hasType(messages, bookRoom.type)) {
              refusingUntil ??= Date.now() + 1000;
              if (Date.now() < refusingUntil) throw new Error('broker refused the batch');
            }
            await memory.publish(messages);
          },
        });
      },
    });
    const tk = running;
    await requestTrip(tk, 'l1', 'Lima');
    await eventually(
      () => expect(outcomes(tk)).toEqual([{ trip_id: 'l1', status: 'completed', reason: null }]),
      { timeoutMs: 10_000 },
    );
    // the pruner did run: only the rows a waiting step could still need were ever kept
    await eventually(async () => expect(rows(tk, 'trips', 'SELECT seq FROM kernel_outbox')).toEqual([]));
  });

  it("does not count an outage of this process's transport: the deadline moves by its length", async () => {
    // Step timeout 1 s. book-room is answered 2.5 s after it is published, and the transport
    // reports itself down from that publish for 2 s: the step waits until about 3 s after the
    // publish (1 s, plus the 2 s outage), so the reply is in time.
    const world = {
      full: new Set<string>(),
      silent: new Set<string>(),
      lateMs: new Map([['Bergen', 2500]]),
      stepTimeoutMs: 1000,
    };
    const tk = await start(world, undefined, downOnceBookRoomIsPublished(2000));
    await requestTrip(tk, 'b1', 'Bergen');
    await eventually(
      () => expect(outcomes(tk)).toEqual([{ trip_id: 'b1', status: 'completed', reason: null }]),
      {
        timeoutMs: 10_000,
      },
    );
  });

  it('still times out a step nobody answers, once the outage is over', async () => {
    const world = { full: new Set<string>(), silent: new Set(['Nowhere']) };
    const tk = await start(world, undefined, downOnceBookRoomIsPublished(1000));
    await requestTrip(tk, 'n1', 'Nowhere');
    await eventually(
      () => expect(outcomes(tk)).toEqual([{ trip_id: 'n1', status: 'compensated', reason: 'timeout' }]),
      { timeoutMs: 10_000 },
    );
  });

  it("lets a reply waiting in the saga's own queue win over the timeout, however long it waits there", async () => {
    const tk = await start({ full: new Set(), silent: new Set() }, undefined, (log) => {
      const memory = createMemoryTransport(log);
      return overriding(memory, {
        // seat-reserved reaches the saga's consumer 1 s after it was published, as behind a backlog
        subscribe: (endpoint) =>
          memory.subscribe(
            endpoint.name === `${tripSaga.name}-saga` ? slowed(endpoint, seatReserved.type, 1000) : endpoint,
          ),
      });
    });
    await requestTrip(tk, 'q1', 'Oslo');
    await eventually(
      () => expect(outcomes(tk)).toEqual([{ trip_id: 'q1', status: 'completed', reason: null }]),
      {
        timeoutMs: 10_000,
      },
    );
    expect(rows(tk, 'flights', 'SELECT state FROM flights_seats')).toEqual([{ state: 'reserved' }]);
  });
});
