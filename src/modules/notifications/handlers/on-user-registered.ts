import type { HandlerContext, MessageOf } from '../../../kernel/index.js';
import type { userRegistered } from '../../users/contracts.js';
import { notificationsContacts } from '../schema.js';

/** users.user-registered → the local contact copy (an upsert: the same event twice is one row). */
export async function onUserRegistered(
  message: MessageOf<typeof userRegistered>,
  handlerCtx: HandlerContext,
): Promise<void> {
  const { userId, email, name } = message.data;
  const row = { userId, email, name, updatedAt: Date.parse(message.time) || Date.now() };
  await handlerCtx.transact(async (tx) => {
    await tx.db
      .insert(notificationsContacts)
      .values(row)
      .onConflictDoUpdate({
        target: notificationsContacts.userId,
        set: { email, name, updatedAt: row.updatedAt },
      });
  });
}
