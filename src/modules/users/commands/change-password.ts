import { type AuthUser, HttpProblem, type ModuleContext, TOKEN_TTL_SECONDS } from '../../../kernel/index.js';
import type { PasswordHashing, VerificationGuard } from '../password.js';
import type { UserRow } from '../schema.js';
import { changeAccount, currentAccount } from './account-changes.js';
import type { Session } from './log-in.js';

export interface ChangePasswordInput {
  readonly currentPassword: string;
  readonly newPassword: string;
}

const gone = () => new HttpProblem(404, 'USERS_NOT_FOUND', 'this account no longer exists');

/**
 * Replaces the password of `user` (the caller's account, as read before) once their current one is verified (through `guard`: a wrong
 * one counts against the sign-in budgets like a failed login, so a stolen token cannot be used to
 * guess it). The token version is bumped, so every token issued before is refused, and a new
 * token is issued for the caller's session.
 */
export async function changePassword(
  ctx: ModuleContext,
  hashing: PasswordHashing,
  user: UserRow,
  input: ChangePasswordInput,
  sign: (claims: AuthUser) => string,
  guard?: VerificationGuard,
): Promise<Session> {
  if (!(await hashing.verify(input.currentPassword, user.passwordHash, guard))) {
    throw new HttpProblem(403, 'USERS_WRONG_PASSWORD', 'the current password is wrong');
  }
  const passwordHash = await hashing.hash(input.newPassword);
  const changed = await ctx.transact(async (tx) => {
    const current = await currentAccount(tx, user.id);
    if (!current) throw gone();
    if (current.passwordHash !== user.passwordHash) {
      // another change won meanwhile: the password verified above is no longer the current one
      throw new HttpProblem(403, 'USERS_WRONG_PASSWORD', 'the password changed meanwhile; try again');
    }
    return await changeAccount(tx, current, { passwordHash });
  });
  return {
    token: sign({ sub: changed.id, role: changed.role, ver: changed.tokenVersion }),
    expiresIn: TOKEN_TTL_SECONDS,
  };
}
