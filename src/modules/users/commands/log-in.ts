import { eq } from 'drizzle-orm';
import { type AuthUser, HttpProblem, type ModuleContext, TOKEN_TTL_SECONDS } from '../../../kernel/index.js';
import { hashPassword, needsRehash, verifyNothing, verifyPassword } from '../password.js';
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
 */
export async function logIn(
  ctx: ModuleContext,
  input: LogInInput,
  sign: (claims: AuthUser) => string,
): Promise<Session> {
  const user = findUserByEmail(ctx.db, input.email);
  const valid = user
    ? await verifyPassword(input.password, user.passwordHash)
    : await verifyNothing(input.password);
  if (!user || !valid) throw invalidCredentials();
  if (needsRehash(user.passwordHash)) {
    const passwordHash = await hashPassword(input.password);
    ctx.transact((tx) =>
      tx.db.update(usersUsers).set({ passwordHash }).where(eq(usersUsers.id, user.id)).run(),
    );
  }
  return { token: sign({ sub: user.id, role: user.role }), expiresIn: TOKEN_TTL_SECONDS };
}
