import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** Tables of the notifications module (in `notifications.db`). */

/** Local copy of each user's contact, from users.user-registered (event-carried state transfer). */
export const notificationsContacts = sqliteTable('notifications_contacts', {
  userId: text('user_id').primaryKey(),
  email: text('email').notNull(),
  name: text('name').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** One row per notification sent; `event_id` (the event that caused it) is unique: one per event. */
export const notificationsNotifications = sqliteTable(
  'notifications_notifications',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    eventId: text('event_id').notNull().unique(),
    kind: text('kind').notNull(),
    address: text('address').notNull(),
    subject: text('subject').notNull(),
    body: text('body').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  // GET /notifications: a user's notifications in keyset order (created_at, id).
  (t) => [index('notifications_notifications_user').on(t.userId, t.createdAt, t.id)],
);
