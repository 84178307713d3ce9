import { eq } from 'drizzle-orm';
import type { ModuleContext } from '../../../kernel/index.js';
import { userRegistered } from '../contracts.js';
import { hashPassword, needsRehash, verifyPassword } from '../password.js';
import { findUserByEmail } from '../queries.js';
import { usersUsers } from '../schema.js';
import { insertUser } from './register-user.js';

export interface AdminCredentials {
  readonly email: string;
  readonly password: string;
}

export type SeedOutcome = 'created' | 'updated' | 'kept';

/**
 * Makes sure the configured admin account exists with role admin and the configured password.
 * A new account publishes users.user-registered. The password is rehashed only when it changed
 * (or the stored hash uses an older cost), not at every start.
 */
export async function seedAdmin(ctx: ModuleContext, admin: AdminCredentials): Promise<SeedOutcome> {
  const existing = findUserByEmail(ctx.db, admin.email);
  const keepHash =
    existing !== undefined &&
    !needsRehash(existing.passwordHash) &&
    (await verifyPassword(admin.password, existing.passwordHash));
  const passwordHash = keepHash ? existing.passwordHash : await hashPassword(admin.password);
  return ctx.transact((tx) => {
    const current = findUserByEmail(tx.db, admin.email);
    if (!current) {
      const user = insertUser(tx.db, {
        email: admin.email,
        name: 'Administrator',
        role: 'admin',
        passwordHash,
      });
      tx.stage(userRegistered({ userId: user.id, email: user.email, name: user.name, role: 'admin' }));
      return 'created';
    }
    const changes = {
      ...(current.role === 'admin' ? {} : { role: 'admin' as const }),
      ...(keepHash && current.passwordHash === existing?.passwordHash ? {} : { passwordHash }),
    };
    if (Object.keys(changes).length === 0) return 'kept';
    tx.db.update(usersUsers).set(changes).where(eq(usersUsers.id, current.id)).run();
    return 'updated';
  });
}
