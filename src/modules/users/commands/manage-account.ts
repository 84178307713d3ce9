import { HttpProblem, type ModuleContext, type Role } from '../../../kernel/index.js';
import { normalizeEmail } from '../queries.js';
import type { UserRow } from '../schema.js';
import { changeAccount, currentAccount, removeAccount } from './account-changes.js';

/** Who asks for an account change, and which account the configuration keeps as admin. */
export interface AccountAdmin {
  /** The admin's own user id (the token's `sub`). */
  readonly callerId: string;
  /** ADMIN_EMAIL, when set: the admin seed would re-create or refuse that account at the next start. */
  readonly configuredAdminEmail: string | undefined;
}

export interface AccountView {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly role: Role;
}

const notFound = () => new HttpProblem(404, 'USERS_NOT_FOUND', 'no account has this id');

/**
 * Refuses a change an admin should not make through the API: to their own account (the last
 * admin could lock everyone out), or to the configured admin (the seed would stop the next start
 * on a demoted one, and re-create a deleted one).
 */
function assertChangeable(user: UserRow, admin: AccountAdmin): void {
  if (user.id === admin.callerId) {
    throw new HttpProblem(
      409,
      'USERS_ACCOUNT_PROTECTED',
      'an admin cannot demote or delete their own account: ask another admin',
    );
  }
  const configured = admin.configuredAdminEmail;
  if (configured !== undefined && normalizeEmail(configured) === user.email) {
    throw new HttpProblem(
      409,
      'USERS_ACCOUNT_PROTECTED',
      'this is the account ADMIN_EMAIL configures: change ADMIN_EMAIL instead',
    );
  }
}

const view = (user: UserRow): AccountView => ({
  id: user.id,
  email: user.email,
  name: user.name,
  role: user.role,
});

/**
 * Gives the account `role`. A change bumps its token version (its tokens are refused: it signs in
 * again for one with the new role) and publishes users.account-changed; the same role changes
 * nothing.
 */
export async function changeRole(
  ctx: ModuleContext,
  admin: AccountAdmin,
  userId: string,
  role: Role,
): Promise<AccountView> {
  return await ctx.transact(async (tx) => {
    const user = await currentAccount(tx, userId);
    if (!user) throw notFound();
    if (user.role === role) return view(user);
    assertChangeable(user, admin);
    return view(await changeAccount(tx, user, { role }));
  });
}

/** Deletes the account; every token of it is refused (users.account-changed, `deleted`). */
export async function deleteUser(ctx: ModuleContext, admin: AccountAdmin, userId: string): Promise<void> {
  await ctx.transact(async (tx) => {
    const user = await currentAccount(tx, userId);
    if (!user) throw notFound();
    assertChangeable(user, admin);
    await removeAccount(tx, user);
  });
}
