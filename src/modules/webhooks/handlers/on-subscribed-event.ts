import { randomUUID } from 'node:crypto';
import type { Envelope, Handler, HandlerContext } from '../../../kernel/index.js';
import { userIdOf } from '../event-catalogue.js';
import { type Audience, subscribersOf } from '../queries.js';
import { webhooksDeliveries } from '../schema.js';

/** Who may receive an event: the user it is about; for an event about no user, admins. */
export function audienceOf(event: Envelope): Audience {
  const userId = userIdOf(event);
  return userId === undefined ? { role: 'admin' } : { userId };
}

/**
 * Any event → one pending delivery per subscription that names its type and whose owner is in
 * its audience, recorded in the handler's transaction (with the inbox record). The unique
 * (subscription, event) index makes a repeated event add nothing, also past the inbox (a replayed
 * dead letter). Sending happens later, outside the transaction: `onRecorded` wakes the dispatcher.
 */
export function createEventHandler(onRecorded: () => void): Handler {
  return async (event: Envelope, handlerCtx: HandlerContext) => {
    let recorded = 0;
    await handlerCtx.transact(async (tx) => {
      const subscribers = await subscribersOf(tx.db, event.type, audienceOf(event));
      if (subscribers.length === 0) return;
      const payload = JSON.stringify(event);
      const now = Date.now();
      const rows = subscribers.map((subscriptionId) => ({
        id: randomUUID(),
        subscriptionId,
        eventId: event.id,
        eventType: event.type,
        payload,
        status: 'pending' as const,
        attempts: 0,
        nextAttemptAt: now,
        createdAt: now,
        updatedAt: now,
      }));
      // The rows inserted (`.returning()`: the same on both backends; a run's count is not).
      const inserted = await tx.db
        .insert(webhooksDeliveries)
        .values(rows)
        .onConflictDoNothing()
        .returning({ id: webhooksDeliveries.id });
      recorded = inserted.length;
    });
    if (recorded > 0) onRecorded();
  };
}
