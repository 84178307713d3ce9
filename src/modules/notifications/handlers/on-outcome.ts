import { randomUUID } from 'node:crypto';
import type { Envelope, Handler, HandlerContext, ModuleContext } from '../../../kernel/index.js';
import type { OutgoingNotification } from '../channels.js';
import { composeNotification } from '../compose.js';
import { notificationSent } from '../contracts.js';
import { findContact, isNotified } from '../queries.js';
import type { Send } from '../resilience.js';
import { notificationsNotifications } from '../schema.js';

/** Used when no contact copy is known yet (the user registered before this module saw it). */
export const genericAddress = (userId: string) => `user-${userId}@users.invalid`;

/**
 * Order outcomes and refunds → one notification each. The send happens before the transaction
 * (it cannot be rolled back), so a notification row already committed for the event means it was
 * sent: a repeated delivery then sends nothing. A failing send throws: the kernel retries, then
 * dead-letters; while the channel's breaker is open the send throws DependencyUnavailableError and
 * the kernel pauses this consumer until it half-opens (resilience.ts), dead-lettering nothing. The
 * row, its notification-sent event and the inbox record commit together.
 */
export function createOutcomeHandler(ctx: ModuleContext, send: Send): Handler {
  return async (message: Envelope, handlerCtx: HandlerContext) => {
    const content = composeNotification(message);
    if (!content || (await isNotified(ctx.db, message.id))) return;
    const contact = await findContact(ctx.db, content.userId);
    const notification: OutgoingNotification = {
      id: randomUUID(),
      address: contact?.email ?? genericAddress(content.userId),
      ...content,
      body: contact ? `Hello ${contact.name},\n\n${content.body}` : content.body,
    };
    await send(notification);
    await handlerCtx.transact(async (tx) => {
      // The row inserted, if any (`.returning()`: the same on both backends; a run's count is not).
      const inserted = await tx.db
        .insert(notificationsNotifications)
        .values({ ...notification, eventId: message.id, createdAt: Date.now() })
        .onConflictDoNothing()
        .returning({ id: notificationsNotifications.id });
      if (inserted.length === 0) return;
      const { id: notificationId, userId, kind } = notification;
      await tx.stage(notificationSent({ notificationId, userId, eventId: message.id, kind }));
    });
  };
}
