/**
 * Which due deliveries get the free attempt slots: a pure function of what the claim transaction
 * counted, so fairness is tested without a clock or a network.
 *
 * First come, first served let one user's backlog to a dead target take every slot for as long
 * as its attempts took to time out. Instead each slot goes to the user with the fewest attempts in
 * flight (ties: the one whose delivery has waited longest), so users take turns; within a user, to
 * the webhook with the fewest in flight, so one dead URL does not hold all of its owner's share.
 * A user or a target host already at its bound gets nothing: its rows stay due, uncounted, until a
 * slot of its own frees.
 */

/** One subscription's deliveries, as counted in the claim transaction. */
export interface SubscriptionLoad {
  readonly subscriptionId: string;
  readonly userId: string;
  /** Where its deliveries go: the URL's host and port (what a connection goes to). */
  readonly host: string;
  /** Its deliveries leased now, by this dispatcher or another one on the database. */
  readonly inFlight: number;
  /** Its deliveries due now and not leased. */
  readonly due: number;
  /** When the oldest of those became due (ms since the epoch). */
  readonly oldestDueAt: number;
}

export interface ShareLimits {
  /** Attempts this dispatcher may start now. */
  readonly slots: number;
  /** Attempts in flight at most per user, over every dispatcher. */
  readonly perUser: number;
  /** Attempts in flight at most per host, over every dispatcher. */
  readonly perHost: number;
}

const add = (counts: Map<string, number>, key: string, n: number) =>
  counts.set(key, (counts.get(key) ?? 0) + n);

/** How many deliveries to claim of each subscription (only those with at least one). */
export function shareSlots(loads: readonly SubscriptionLoad[], limits: ShareLimits): Map<string, number> {
  const byUser = new Map<string, number>();
  const byHost = new Map<string, number>();
  const bySubscription = new Map<string, number>();
  for (const load of loads) {
    add(byUser, load.userId, load.inFlight);
    add(byHost, load.host, load.inFlight);
    add(bySubscription, load.subscriptionId, load.inFlight);
  }
  const count = (counts: Map<string, number>, key: string) => counts.get(key) ?? 0;
  const picks = new Map<string, number>();
  const claimable = (load: SubscriptionLoad) =>
    count(picks, load.subscriptionId) < load.due &&
    count(byUser, load.userId) < limits.perUser &&
    count(byHost, load.host) < limits.perHost;
  // Earlier in the turn: fewer in flight for the user, then for the webhook, then waited longer.
  const before = (a: SubscriptionLoad, b: SubscriptionLoad) =>
    count(byUser, a.userId) - count(byUser, b.userId) ||
    count(bySubscription, a.subscriptionId) - count(bySubscription, b.subscriptionId) ||
    a.oldestDueAt - b.oldestDueAt ||
    (a.subscriptionId < b.subscriptionId ? -1 : 1);

  for (let slot = 0; slot < limits.slots; slot++) {
    let next: SubscriptionLoad | undefined;
    for (const load of loads) {
      if (claimable(load) && (next === undefined || before(load, next) < 0)) next = load;
    }
    if (next === undefined) break;
    add(picks, next.subscriptionId, 1);
    add(byUser, next.userId, 1);
    add(byHost, next.host, 1);
    add(bySubscription, next.subscriptionId, 1);
  }
  return picks;
}
