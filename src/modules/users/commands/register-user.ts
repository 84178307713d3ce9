import { randomUUID } from 'node:crypto';
import { HttpProblem, type ModuleContext, type Role } from '../../../kernel/index.js';
import { userRegistered } from '../contracts.js';
import type { PasswordHashing } from '../password.js';
import { findUserByEmail, normalizeEmail } from '../queries.js';
import { type UserRow, usersUsers } from '../schema.js';

export interface RegisterUserInput {
  readonly email: string;
  readonly password: string;
  readonly name: string;
}

export interface RegisteredUser {
  readonly id: string;
  readonly email: string;
  readonly name: string;
}

const emailTaken = () => new HttpProblem(409, 'USERS_EMAIL_TAKEN', 'an account with this email exists');

/**
 * Creates a user account and publishes users.user-registered. The password is hashed before the
 * transaction (scrypt is slow and asynchronous); the email is checked again inside it.
 */
export async function registerUser(
  ctx: ModuleContext,
  hashing: PasswordHashing,
  input: RegisterUserInput,
): Promise<RegisteredUser> {
  if (await findUserByEmail(ctx.db, input.email)) throw emailTaken();
  const passwordHash = await hashing.hash(input.password);
  return await ctx.transact(async (tx) => {
    if (await findUserByEmail(tx.db, input.email)) throw emailTaken();
    const user = await insertUser(tx.db, {
      email: input.email,
      name: input.name,
      role: 'user',
      passwordHash,
    });
    await tx.stage(userRegistered({ userId: user.id, email: user.email, name: user.name, role: user.role }));
    return { id: user.id, email: user.email, name: user.name };
  });
}

/** Inserts an account row (inside the caller's transaction). */
export async function insertUser(
  db: ModuleContext['db'],
  input: { email: string; name: string; role: Role; passwordHash: string },
): Promise<UserRow> {
  const row: UserRow = {
    id: randomUUID(),
    email: normalizeEmail(input.email),
    name: input.name,
    role: input.role,
    passwordHash: input.passwordHash,
    createdAt: Date.now(),
    tokenVersion: 0,
  };
  await db.insert(usersUsers).values(row);
  return row;
}
