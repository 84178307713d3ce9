import { and, asc, eq, inArray, isNull, lte, or } from 'drizzle-orm';
import type { ModuleContext } from '../../../kernel/index.js';
import { type DeliveryStatus, webhooksDeliveries, webhooksSubscriptions } from '../schema.js';
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

const isDue = (now: number) => {
  const d = webhooksDeliveries;
  return and(
    eq(d.status, 'pending'),
    lte(d.nextAttemptAt, now),
    or(isNull(d.lockedUntil), lte(d.lockedUntil, now)),
  );
};

/**
 * Takes up to `limit` due pending deliveries (oldest due first) and leases them until
 * `now + leaseMs`, in one write transaction: another dispatcher on the same database skips them,
 * and if this process dies the lease runs out and they are due again. A plain read comes first,
 * so an idle poll never takes the database's write lock.
 */
export async function claimDue(
  ctx: ModuleContext,
  limit: number,
  now: number,
  leaseMs: number,
): Promise<ClaimedDelivery[]> {
  const d = webhooksDeliveries;
  if (!ctx.db.select({ id: d.id }).from(d).where(isDue(now)).limit(1).get()) return [];
  return await ctx.transact((tx) => {
    const due = tx.db
      .select({
        id: d.id,
        payload: d.payload,
        attempts: d.attempts,
        url: webhooksSubscriptions.url,
        secret: webhooksSubscriptions.secret,
      })
      .from(d)
      .innerJoin(webhooksSubscriptions, eq(webhooksSubscriptions.id, d.subscriptionId))
      .where(isDue(now))
      .orderBy(asc(d.nextAttemptAt), asc(d.createdAt))
      .limit(limit)
      .all();
    if (due.length > 0) {
      const ids = due.map((row) => row.id);
      tx.db
        .update(d)
        .set({ lockedUntil: now + leaseMs })
        .where(inArray(d.id, ids))
        .run();
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
  await ctx.transact((tx) => {
    tx.db
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
      .where(eq(webhooksDeliveries.id, delivery.id))
      .run();
  });
}

/** Gives claimed deliveries back without counting an attempt (their attempt was cut short by a stop). */
export async function releaseClaims(ctx: ModuleContext, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await ctx.transact((tx) => {
    tx.db
      .update(webhooksDeliveries)
      .set({ lockedUntil: null })
      .where(inArray(webhooksDeliveries.id, [...ids]))
      .run();
  });
}
