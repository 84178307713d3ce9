import { eq } from 'drizzle-orm';
import type { Role, Tx } from '../../../kernel/index.js';
import { accountChanged } from '../contracts.js';
import { findUserById } from '../queries.js';
import { type UserRow, usersUsers } from '../schema.js';

/**
 * The account as it is inside the caller's transaction (a concurrent change committed since the
 * caller last read it is seen here), or undefined when it is gone.
 */
export const currentAccount = (tx: Tx, userId: string): Promise<UserRow | undefined> =>
  findUserById(tx.db, userId);

/**
 * Inside the caller's transaction: writes `changes` to the account with its token version bumped,
 * and stages users.account-changed, so tokens issued before are refused here at once (the kernel
 * learns the change as it commits) and by every other process once the event reaches it.
 */
export async function changeAccount(
  tx: Tx,
  user: UserRow,
  changes: { readonly role?: Role; readonly passwordHash?: string },
): Promise<UserRow> {
  const tokenVersion = user.tokenVersion + 1;
  await tx.db
    .update(usersUsers)
    .set({ ...changes, tokenVersion })
    .where(eq(usersUsers.id, user.id));
  const changed: UserRow = { ...user, ...changes, tokenVersion };
  await tx.stage(accountChanged({ userId: user.id, role: changed.role, tokenVersion, deleted: false }));
  return changed;
}

/**
 * Inside the caller's transaction: deletes the account (its email is free again) and stages
 * users.account-changed with `deleted`, so every token of it is refused wherever the event has
 * arrived. What other modules keep of it (orders, balance, notifications) stays theirs.
 */
export async function removeAccount(tx: Tx, user: UserRow): Promise<void> {
  await tx.db.delete(usersUsers).where(eq(usersUsers.id, user.id));
  await tx.stage(
    accountChanged({ userId: user.id, role: user.role, tokenVersion: user.tokenVersion + 1, deleted: true }),
  );
}
