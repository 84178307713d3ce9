import { eq } from 'drizzle-orm';
import { ConfigError, type ModuleContext } from '../../../kernel/index.js';
import { userRegistered } from '../contracts.js';
import { needsRehash, type PasswordHashing } from '../password.js';
import { findUserByEmail } from '../queries.js';
import { usersUsers } from '../schema.js';
import { changeAccount } from './account-changes.js';
import { insertUser } from './register-user.js';

export interface AdminCredentials {
  readonly email: string;
  readonly password: string;
}

export type SeedOutcome = 'created' | 'updated' | 'kept';

/**
 * Makes sure the configured admin account exists with role admin and the configured password.
 * A new account publishes users.user-registered. The password is rehashed only when it changed
 * (or the stored hash uses an older cost), not at every start; a changed one bumps the account's
 * token version (users.account-changed), so tokens issued with the old password are refused.
 *
 * It never takes over an account it did not create: when the address belongs to an account
 * registered as a user, promoting it would hand its registrant (their tokens, their webhooks) the
 * admin's rights, and resetting its password would lock them out. The start then stops with a
 * ConfigError naming ADMIN_EMAIL.
 */
export async function seedAdmin(
  ctx: ModuleContext,
  hashing: PasswordHashing,
  admin: AdminCredentials,
): Promise<SeedOutcome> {
  const existing = await findUserByEmail(ctx.db, admin.email);
  if (existing && existing.role !== 'admin') throw notAdoptable(admin.email);
  const samePassword =
    existing !== undefined && (await hashing.verify(admin.password, existing.passwordHash));
  const keepHash = samePassword && !needsRehash(existing.passwordHash);
  const passwordHash = keepHash ? existing.passwordHash : await hashing.hash(admin.password);
  return await ctx.transact(async (tx): Promise<SeedOutcome> => {
    const current = await findUserByEmail(tx.db, admin.email);
    if (!current) {
      const user = await insertUser(tx.db, {
        email: admin.email,
        name: 'Administrator',
        role: 'admin',
        passwordHash,
      });
      await tx.stage(userRegistered({ userId: user.id, email: user.email, name: user.name, role: 'admin' }));
      return 'created';
    }
    if (current.role !== 'admin') throw notAdoptable(admin.email); // registered meanwhile
    const rehashOnly = samePassword && current.passwordHash === existing?.passwordHash;
    if (rehashOnly && keepHash) return 'kept';
    if (rehashOnly) {
      // the same password at the current cost: the admin's tokens stay valid
      await tx.db.update(usersUsers).set({ passwordHash }).where(eq(usersUsers.id, current.id));
    } else {
      await changeAccount(tx, current, { passwordHash }); // a new password: tokens issued before are refused
    }
    return 'updated';
  });
}

const notAdoptable = (email: string): ConfigError =>
  new ConfigError(
    'ADMIN_EMAIL',
    `${email} belongs to an account registered as a user; the seed does not take over an account it ` +
      'did not create (set another ADMIN_EMAIL)',
  );
