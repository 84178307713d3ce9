import { and, asc, eq, inArray, isNull, lte, or, type Placeholder, sql } from 'drizzle-orm';
import { type Db, type ModuleContext, preparedOnce, type Tx } from '../../../kernel/index.js';
import { type DeliveryStatus, webhooksDeliveries, webhooksSubscriptions } from '../schema.js';
import { type ShareLimits, type SubscriptionLoad, shareSlots } from './fair-share.js';
import type { AttemptResult } from './http-post.js';
import { type DeliveryPolicy, retryDelayMs } from './policy.js';

/** A delivery claimed for one attempt, with what sending it needs. */
export interface ClaimedDelivery {
  readonly id: string;
  readonly payload: string;
  readonly attempts: number;
  readonly url: string;
  readonly secret: string;
}

const isDue = (now: number | Placeholder) => {
  const d = webhooksDeliveries;
  return and(
    eq(d.status, 'pending'),
    lte(d.nextAttemptAt, now),
    or(isNull(d.lockedUntil), lte(d.lockedUntil, now)),
  );
};

/** Who owns a subscription and the host it sends to. */
interface Target {
  readonly userId: string;
  readonly host: string;
}

/**
 * The targets of the subscriptions a claim looks at. A subscription's owner and URL never change,
 * so each is read once, not joined into every claim (the claim reads only an index then); the
 * ones of the last claim are kept, so deleted subscriptions do not pile up.
 */
export class TargetCache {
  #known = new Map<string, Target>();

  async of(tx: Tx, ids: readonly string[]): Promise<Map<string, Target>> {
    const s = webhooksSubscriptions;
    const missing = ids.filter((id) => !this.#known.has(id));
    // In slices: SQLite takes at most 32766 values in one statement (a first claim after a start
    // may meet that many subscriptions).
    for (let i = 0; i < missing.length; i += 500) {
      const slice = missing.slice(i, i + 500);
      const read = await tx.db
        .select({ id: s.id, userId: s.userId, url: s.url })
        .from(s)
        .where(inArray(s.id, slice));
      for (const { id, userId, url } of read) this.#known.set(id, { userId, host: new URL(url).host });
    }
    const targets = new Map<string, Target>();
    for (const id of ids) {
      const target = this.#known.get(id);
      if (target) targets.set(id, target);
    }
    this.#known = targets;
    return targets;
  }
}

/** Due and leased deliveries per subscription; a claim runs it each time, so it is prepared once. */
const pendingCounts = (db: Db) => {
  const d = webhooksDeliveries;
  const now = sql.placeholder('now');
  const leased = sql`${d.lockedUntil} > ${now}`;
  return (
    db
      .select({
        subscriptionId: d.subscriptionId,
        inFlight: sql<number>`sum(case when ${leased} then 1 else 0 end)`,
        due: sql<number>`sum(case when ${leased} then 0 else 1 end)`,
        oldestDueAt: sql<number | null>`min(case when ${leased} then null else ${d.nextAttemptAt} end)`,
      })
      .from(d)
      // A leased row became due before its claim and keeps that next_attempt_at until its attempt
      // is recorded, so this range holds the due rows and the leased ones; index
      // webhooks_deliveries_pending covers it.
      .where(and(eq(d.status, 'pending'), lte(d.nextAttemptAt, now)))
      .groupBy(d.subscriptionId)
  );
};

/** Every subscription with deliveries due or leased now: what the fair share is decided on. */
async function loadsAt(tx: Tx, now: number, targets: TargetCache): Promise<SubscriptionLoad[]> {
  const counts = await preparedOnce(tx.db, pendingCounts).many({ now });
  const known = await targets.of(
    tx,
    counts.map((row) => row.subscriptionId),
  );
  return counts.flatMap(({ oldestDueAt, ...row }) => {
    const target = known.get(row.subscriptionId);
    return target ? [{ ...row, ...target, oldestDueAt: oldestDueAt ?? now }] : [];
  });
}

/** A subscription's due deliveries, those that have waited longest first. */
const dueOfSubscription = (db: Db) => {
  const d = webhooksDeliveries;
  const s = webhooksSubscriptions;
  return db
    .select({ id: d.id, payload: d.payload, attempts: d.attempts, url: s.url, secret: s.secret })
    .from(d)
    .innerJoin(s, eq(s.id, d.subscriptionId))
    .where(and(eq(d.subscriptionId, sql.placeholder('subscriptionId')), isDue(sql.placeholder('now'))))
    .orderBy(asc(d.nextAttemptAt), asc(d.createdAt))
    .limit(sql.placeholder('limit'));
};

export interface ClaimLimits extends ShareLimits {
  /** How long the claim holds: the attempt's timeout and a margin. */
  readonly leaseMs: number;
  /** The dispatcher's: kept from one claim to the next. */
  readonly targets: TargetCache;
}

/**
 * Takes up to `limits.slots` due pending deliveries, shared fairly between users within the
 * per-user and per-host bounds (fair-share.ts), and leases them until `now + leaseMs`, in one
 * write transaction: another dispatcher on the same database skips them and counts them as in
 * flight, and if this process dies the lease runs out and they are due again. A delivery left out
 * (its user or host at its bound) stays due and is not counted as an attempt. A plain read comes
 * first, so an idle poll never takes the database's write lock.
 */
export async function claimDue(
  ctx: ModuleContext,
  now: number,
  limits: ClaimLimits,
): Promise<ClaimedDelivery[]> {
  const d = webhooksDeliveries;
  const [anyDue] = await ctx.db.select({ id: d.id }).from(d).where(isDue(now)).limit(1);
  if (!anyDue) return [];
  return await ctx.transact(async (tx) => {
    const picks = shareSlots(await loadsAt(tx, now, limits.targets), limits);
    const dueOf = preparedOnce(tx.db, dueOfSubscription);
    const due: ClaimedDelivery[] = [];
    for (const [subscriptionId, limit] of picks)
      due.push(...(await dueOf.many({ subscriptionId, limit, now })));
    if (due.length > 0) {
      const ids = due.map((row) => row.id);
      await tx.db
        .update(d)
        .set({ lockedUntil: now + limits.leaseMs })
        .where(inArray(d.id, ids));
    }
    return due;
  });
}

function statusAfter(result: AttemptResult, attemptsMade: number, policy: DeliveryPolicy): DeliveryStatus {
  if (result.ok) return 'delivered';
  return attemptsMade >= policy.maxAttempts ? 'failed' : 'pending';
}

/** Records one finished attempt: delivered, failed for good, or pending until its next attempt. */
export async function recordAttempt(
  ctx: ModuleContext,
  delivery: ClaimedDelivery,
  result: AttemptResult,
  policy: DeliveryPolicy,
  now: number,
): Promise<void> {
  const attempts = delivery.attempts + 1;
  await ctx.transact(async (tx) => {
    await tx.db
      .update(webhooksDeliveries)
      .set({
        status: statusAfter(result, attempts, policy),
        attempts,
        responseStatus: result.responseStatus,
        lastError: result.error,
        nextAttemptAt: now + retryDelayMs(policy, attempts),
        lockedUntil: null,
        updatedAt: now,
      })
      .where(eq(webhooksDeliveries.id, delivery.id));
  });
}

/** Gives claimed deliveries back without counting an attempt (their attempt was cut short by a stop). */
export async function releaseClaims(ctx: ModuleContext, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await ctx.transact(async (tx) => {
    await tx.db
      .update(webhooksDeliveries)
      .set({ lockedUntil: null })
      .where(inArray(webhooksDeliveries.id, [...ids]));
  });
}
