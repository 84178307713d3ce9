import { bigint, integer, pgSchema, text, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * The users tables on PostgreSQL, in schema `users`: the twins of `schema.ts` (read it for what
 * each table is for), with the same row types; epoch-ms times are `bigint` (read as JS numbers).
 *
 * The schema object is not exported: drizzle-kit would write `CREATE SCHEMA` into the migration,
 * and the migrator creates the schema itself before the kernel tables go in.
 */
const users = pgSchema('users');

export const usersUsers = users.table(
  'users_users',
  {
    id: text('id').primaryKey(),
    email: text('email').notNull(),
    name: text('name').notNull(),
    role: text('role', { enum: ['user', 'admin'] }).notNull(),
    passwordHash: text('password_hash').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    tokenVersion: integer('token_version').notNull().default(0),
  },
  (t) => [uniqueIndex('users_users_email').on(t.email)],
);
