import { eq } from 'drizzle-orm';
import type { Db } from '../../kernel/index.js';
import { type UserRow, usersUsers } from './schema.js';

/** Emails are compared lower-cased (and stored that way). */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export async function findUserByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  const [user] = await db
    .select()
    .from(usersUsers)
    .where(eq(usersUsers.email, normalizeEmail(email)));
  return user;
}

export async function findUserById(db: Db, id: string): Promise<UserRow | undefined> {
  const [user] = await db.select().from(usersUsers).where(eq(usersUsers.id, id));
  return user;
}
