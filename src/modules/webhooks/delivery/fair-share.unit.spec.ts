import { describe, expect, it } from 'vitest';
import { type ShareLimits, type SubscriptionLoad, shareSlots } from './fair-share.js';

const load = (
  subscriptionId: string,
  userId: string,
  host: string,
  due: number,
  more: Partial<SubscriptionLoad> = {},
): SubscriptionLoad => ({ subscriptionId, userId, host, due, inFlight: 0, oldestDueAt: 1000, ...more });

const LIMITS: ShareLimits = { slots: 8, perUser: 4, perHost: 4 };
const share = (loads: SubscriptionLoad[], limits: Partial<ShareLimits> = {}) =>
  Object.fromEntries(shareSlots(loads, { ...LIMITS, ...limits }));

/** A's 50 webhooks to one dead host, each with a due delivery older than anyone else's. */
const deadTargetOfA = Array.from({ length: 50 }, (_, i) =>
  load(`a${String(i).padStart(2, '0')}`, 'A', 'dead.example:80', 1, { oldestDueAt: 100 + i }),
);

describe('sharing delivery slots', () => {
  it("gives a user's backlog to a dead host no more than the host's bound, and the rest to others", () => {
    const picks = share([...deadTargetOfA, load('b', 'B', 'ok.example:80', 1, { oldestDueAt: 5000 })], {
      perHost: 2,
    });
    expect(picks).toEqual({ a00: 1, a01: 1, b: 1 });
  });

  it("counts attempts already in flight (another dispatcher's leases too) against the bounds", () => {
    const busy = deadTargetOfA.map((l, i) => (i < 2 ? { ...l, inFlight: 1 } : l));
    expect(share([...busy, load('b', 'B', 'ok.example:80', 1)], { perHost: 2 })).toEqual({ b: 1 });
    const atUserBound = [load('x', 'A', 'h1:80', 9, { inFlight: 3 }), load('y', 'A', 'h2:80', 9)];
    expect(share(atUserBound)).toEqual({ y: 1 });
  });

  it('takes turns between users: the user with fewer in flight first, then the one waiting longest', () => {
    const loads = [
      load('a', 'A', 'a.example:443', 10, { oldestDueAt: 1 }),
      load('b', 'B', 'b.example:443', 10, { oldestDueAt: 2 }),
      load('c', 'C', 'c.example:443', 10, { oldestDueAt: 3, inFlight: 1 }),
    ];
    // A and B first (none in flight, A waited longer), then each in turn: A, B, C, A, B, C.
    expect(share(loads, { slots: 2 })).toEqual({ a: 1, b: 1 });
    expect(share(loads, { slots: 5 })).toEqual({ a: 2, b: 2, c: 1 });
    expect(share(loads, { slots: 8 })).toEqual({ a: 3, b: 3, c: 2 });
  });

  it("spreads a user's share over its webhooks, and over many users' webhooks to one host", () => {
    const user = [load('w1', 'A', 'h1:80', 10), load('w2', 'A', 'h2:80', 10, { oldestDueAt: 2000 })];
    expect(share(user)).toEqual({ w1: 2, w2: 2 });
    const shared = ['P', 'Q', 'R', 'S', 'T'].map((u) => load(u, u, 'hooks.example:443', 5));
    expect(Object.values(share(shared)).reduce((sum, n) => sum + n, 0)).toBe(4);
  });

  it('claims no more than is due, nor more than the free slots, and nothing without a slot', () => {
    expect(share([load('a', 'A', 'h:80', 2)])).toEqual({ a: 2 });
    expect(share([load('a', 'A', 'h:80', 9)], { slots: 3 })).toEqual({ a: 3 });
    expect(share([load('a', 'A', 'h:80', 9)], { slots: 0 })).toEqual({});
    expect(share([])).toEqual({});
  });
});
