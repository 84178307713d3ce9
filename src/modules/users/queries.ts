import { eq } from 'drizzle-orm';
import type { Db } from '../../kernel/index.js';
import { type UserRow, usersUsers } from './schema.js';

/** Emails are compared lower-cased (and stored that way). */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function findUserByEmail(db: Db, email: string): UserRow | undefined {
  return db
    .select()
    .from(usersUsers)
    .where(eq(usersUsers.email, normalizeEmail(email)))
    .get();
}

export function findUserById(db: Db, id: string): UserRow | undefined {
  return db.select().from(usersUsers).where(eq(usersUsers.id, id)).get();
}
