import { bigint, index, pgSchema, text } from 'drizzle-orm/pg-core';

/**
 * The notifications tables on PostgreSQL, in schema `notifications`: the twins of `schema.ts`
 * (read it for what each table is for), with the same row types; epoch-ms times are `bigint`
 * (read as JS numbers).
 *
 * The schema object is not exported: drizzle-kit would write `CREATE SCHEMA` into the migration,
 * and the migrator creates the schema itself before the kernel tables go in.
 */
const notifications = pgSchema('notifications');

export const notificationsContacts = notifications.table('notifications_contacts', {
  userId: text('user_id').primaryKey(),
  email: text('email').notNull(),
  name: text('name').notNull(),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
});

export const notificationsNotifications = notifications.table(
  'notifications_notifications',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    eventId: text('event_id').notNull().unique(),
    kind: text('kind').notNull(),
    address: text('address').notNull(),
    subject: text('subject').notNull(),
    body: text('body').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('notifications_notifications_user').on(t.userId, t.createdAt, t.id)],
);
