import { eq } from 'drizzle-orm';
import type { ModuleContext } from '../../../kernel/index.js';
import { ownsSubscription } from '../queries.js';
import { webhooksDeliveries, webhooksSubscriptionEvents, webhooksSubscriptions } from '../schema.js';

/**
 * DELETE /webhooks/:id: the subscription, its event types and its deliveries (pending ones are
 * not sent any more). False when the caller has no such subscription (another user's included).
 */
export async function deleteSubscription(ctx: ModuleContext, userId: string, id: string): Promise<boolean> {
  return await ctx.transact(async (tx) => {
    if (!(await ownsSubscription(tx.db, userId, id))) return false;
    await tx.db.delete(webhooksDeliveries).where(eq(webhooksDeliveries.subscriptionId, id));
    await tx.db.delete(webhooksSubscriptionEvents).where(eq(webhooksSubscriptionEvents.subscriptionId, id));
    await tx.db.delete(webhooksSubscriptions).where(eq(webhooksSubscriptions.id, id));
    return true;
  });
}
