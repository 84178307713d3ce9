import { integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** Accounts. `email` is stored lower-cased, so uniqueness is case-insensitive. */
export const usersUsers = sqliteTable(
  'users_users',
  {
    id: text('id').primaryKey(),
    email: text('email').notNull(),
    name: text('name').notNull(),
    role: text('role', { enum: ['user', 'admin'] }).notNull(),
    /** Self-describing scrypt hash: `$scrypt$ln=17,r=8,p=1$<salt>$<key>` (see password.ts). */
    passwordHash: text('password_hash').notNull(),
    createdAt: integer('created_at').notNull(),
    /**
     * The version every token of the account carries (`ver`): bumped when the password or the role
     * changes, so tokens issued before are refused (users.account-changed tells every process).
     */
    tokenVersion: integer('token_version').notNull().default(0),
  },
  (t) => [uniqueIndex('users_users_email').on(t.email)],
);

export type UserRow = typeof usersUsers.$inferSelect;
