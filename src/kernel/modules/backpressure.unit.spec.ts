import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../observability/logger.js';
import {
  type BacklogSources,
  Backpressure,
  MAX_RETRY_AFTER_SECONDS,
  retryAfterSeconds,
  STALLED_RETRY_AFTER_SECONDS,
} from './backpressure.js';

const log = createLogger('silent');

/** Backlogs a spec sets by hand; `lag` may be a function, to make the read fail or hang. */
function sources(initial: { pending?: Record<string, number>; lag?: Record<string, number> } = {}) {
  const state = {
    pending: initial.pending ?? { shop: 0 },
    lag: initial.lag ?? ({} as Record<string, number>),
    read: undefined as (() => Promise<Record<string, number>>) | undefined,
  };
  const backlogs: BacklogSources = {
    outboxes: async () => Object.entries(state.pending).map(([module, pending]) => ({ module, pending })),
    consumers: async () => {
      const lags = state.read ? await state.read() : state.lag;
      return Object.entries(lags).map(([consumer, lag]) => ({ consumer, lag }));
    },
  };
  return { state, backlogs };
}

/** How many of `n` requests are admitted. */
function admitted(backpressure: Backpressure, n: number): number {
  let count = 0;
  for (let i = 0; i < n; i++) if (!backpressure.admit()) count++;
  return count;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('backpressure', () => {
  it('admits until a module outbox, with what was admitted since it was counted, reaches its bound', async () => {
    const { state, backlogs } = sources({ pending: { shop: 6, ledger: 0 } });
    const backpressure = new Backpressure({ outboxPendingMax: 10, consumerLagMax: 0 }, backlogs, log);
    await backpressure.sample();
    expect(admitted(backpressure, 10)).toBe(4); // 6 pending + 4 admitted = the bound
    const refusal = backpressure.admit();
    expect(refusal).toMatchObject({ reason: 'outbox_pending', name: 'shop', size: 10, bound: 10 });
    expect(refusal?.detail).toContain('the outbox of module shop holds 10 unpublished messages');
    expect(refusal?.detail).toContain('BACKPRESSURE_OUTBOX_PENDING_MAX');

    state.pending = { shop: 7, ledger: 0 }; // 3 of the 4 admitted committed, 2 published
    await backpressure.sample();
    expect(admitted(backpressure, 10)).toBe(3);
    expect(backpressure.refusal()).toBeDefined();
  });

  it("counts a consumer's lag with the outboxes' pending messages and what was admitted since the read", async () => {
    const { state, backlogs } = sources({ pending: { shop: 2, ledger: 1 }, lag: { 'ledger.entries': 4 } });
    const backpressure = new Backpressure({ outboxPendingMax: 0, consumerLagMax: 10 }, backlogs, log);
    await backpressure.sample();
    expect(admitted(backpressure, 10)).toBe(3); // 4 queued + 3 on their way + 3 admitted
    expect(backpressure.admit()).toMatchObject({ reason: 'consumer_lag', name: 'ledger.entries', size: 10 });

    state.lag = { 'ledger.entries': 0 }; // drained
    state.pending = { shop: 0, ledger: 0 };
    await backpressure.sample();
    expect(admitted(backpressure, 20)).toBe(10);
  });

  it('refuses for the backlog furthest over its bound', async () => {
    const { backlogs } = sources({ pending: { shop: 12 }, lag: { 'ledger.entries': 40 } });
    const backpressure = new Backpressure({ outboxPendingMax: 10, consumerLagMax: 30 }, backlogs, log);
    await backpressure.sample();
    expect(backpressure.admit()).toMatchObject({ reason: 'consumer_lag', name: 'ledger.entries', size: 52 });
  });

  it('leaves the lag unknown while the broker does not answer, and keeps the outbox bound', async () => {
    const { state, backlogs } = sources({ pending: { shop: 0 }, lag: { 'ledger.entries': 50 } });
    const backpressure = new Backpressure({ outboxPendingMax: 5, consumerLagMax: 10 }, backlogs, log);
    await backpressure.sample();
    expect(backpressure.admit()?.reason).toBe('consumer_lag');

    state.read = () => Promise.reject(new Error('broker away'));
    await backpressure.sample();
    expect(admitted(backpressure, 10)).toBe(5);
    expect(backpressure.admit()?.reason).toBe('outbox_pending');
  });

  it('gives up a lag read that does not answer, and starts no second one meanwhile', async () => {
    /** Lets the samples started count their outboxes (a few promise turns), up to their lag reads. */
    const countedOutboxes = async () => {
      for (let turn = 0; turn < 5; turn++) await Promise.resolve();
    };
    vi.useFakeTimers({ toFake: ['performance', 'Date', 'setTimeout', 'setInterval'] });
    const { state, backlogs } = sources({ pending: { shop: 0 }, lag: { 'ledger.entries': 50 } });
    const backpressure = new Backpressure({ outboxPendingMax: 0, consumerLagMax: 10 }, backlogs, log);
    await backpressure.sample();
    let reads = 0;
    state.read = () => {
      reads++;
      return new Promise(() => {}); // a broker that never answers
    };
    void backpressure.sample();
    void backpressure.sample();
    await countedOutboxes();
    expect(reads).toBe(1);
    expect(backpressure.admit()?.reason).toBe('consumer_lag'); // the last answer still holds
    vi.advanceTimersByTime(6000);
    void backpressure.sample(); // the read is stale: the lag is unknown, a new read starts
    await countedOutboxes();
    expect(reads).toBe(2);
    expect(backpressure.admit()).toBeUndefined();
  });

  it('estimates retry-after from how fast the backlog drains', async () => {
    vi.useFakeTimers({ toFake: ['performance', 'Date'] });
    const { state, backlogs } = sources({ pending: { shop: 400 } });
    const backpressure = new Backpressure({ outboxPendingMax: 100, consumerLagMax: 0 }, backlogs, log);
    await backpressure.sample();
    expect(backpressure.admit()?.retryAfterSeconds).toBe(STALLED_RETRY_AFTER_SECONDS); // no rate yet
    for (const pending of [300, 200]) {
      vi.advanceTimersByTime(1000);
      state.pending = { shop: pending }; // 100 a second
      await backpressure.sample();
    }
    // 101 over the bound at 75 a second (the moving average still catching up): 2 s
    expect(backpressure.admit()?.retryAfterSeconds).toBe(2);
  });

  it('does nothing with both bounds off', async () => {
    const { backlogs } = sources({ pending: { shop: 1_000_000 } });
    const backpressure = new Backpressure({ outboxPendingMax: 0, consumerLagMax: 0 }, backlogs, log);
    expect(backpressure.enabled).toBe(false);
    await backpressure.sample();
    expect(admitted(backpressure, 10)).toBe(10);
  });
});

describe('retryAfterSeconds', () => {
  it.each([
    [1, 1000, 1],
    [250, 100, 3],
    [10_000, 10, MAX_RETRY_AFTER_SECONDS],
    [10, 0, STALLED_RETRY_AFTER_SECONDS],
    [10, 0.5, STALLED_RETRY_AFTER_SECONDS],
  ])('%i over at %d/s: %i s', (excess, rate, seconds) => {
    expect(retryAfterSeconds(excess, rate)).toBe(seconds);
  });
});
