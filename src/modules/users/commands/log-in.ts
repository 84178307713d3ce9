import { and, eq } from 'drizzle-orm';
import { type AuthUser, HttpProblem, type ModuleContext, TOKEN_TTL_SECONDS } from '../../../kernel/index.js';
import { needsRehash, type PasswordHashing, type VerificationGuard } from '../password.js';
import { findUserByEmail } from '../queries.js';
import { usersUsers } from '../schema.js';

export interface LogInInput {
  readonly email: string;
  readonly password: string;
}

export interface Session {
  readonly token: string;
  /** Seconds until the token expires. */
  readonly expiresIn: number;
}

const invalidCredentials = () =>
  new HttpProblem(401, 'USERS_INVALID_CREDENTIALS', 'the email or the password is wrong');

/**
 * Checks the credentials and issues a signed token. An unknown email costs the same scrypt work
 * and gets the same answer as a wrong password. A hash made with an older cost is upgraded.
 * `guard` is the failure budgets' check and count around the verification (see limits.ts).
 */
export async function logIn(
  ctx: ModuleContext,
  hashing: PasswordHashing,
  input: LogInInput,
  sign: (claims: AuthUser) => string,
  guard?: VerificationGuard,
): Promise<Session> {
  const user = await findUserByEmail(ctx.db, input.email);
  const valid = user
    ? await hashing.verify(input.password, user.passwordHash, guard)
    : await hashing.verifyNothing(input.password, guard);
  if (!user || !valid) throw invalidCredentials();
  if (needsRehash(user.passwordHash)) {
    const passwordHash = await hashing.hash(input.password);
    // only while the hash is the one verified: a password changed meanwhile is not overwritten
    const unchanged = and(eq(usersUsers.id, user.id), eq(usersUsers.passwordHash, user.passwordHash));
    await ctx.transact(async (tx) => {
      await tx.db.update(usersUsers).set({ passwordHash }).where(unchanged);
    });
  }
  return {
    token: sign({ sub: user.id, role: user.role, ver: user.tokenVersion }),
    expiresIn: TOKEN_TTL_SECONDS,
  };
}
