import { asc, eq } from 'drizzle-orm';
import type { Db } from '../../kernel/index.js';
import { notificationsContacts, notificationsNotifications } from './schema.js';

export interface NotificationView {
  readonly id: string;
  readonly eventId: string;
  readonly kind: string;
  readonly subject: string;
  readonly body: string;
  readonly createdAt: string;
}

/** The user's notifications, oldest first. */
export function listNotifications(db: Db, userId: string): NotificationView[] {
  return db
    .select()
    .from(notificationsNotifications)
    .where(eq(notificationsNotifications.userId, userId))
    .orderBy(asc(notificationsNotifications.createdAt), asc(notificationsNotifications.id))
    .all()
    .map((row) => ({
      id: row.id,
      eventId: row.eventId,
      kind: row.kind,
      subject: row.subject,
      body: row.body,
      createdAt: new Date(row.createdAt).toISOString(),
    }));
}

export function isNotified(db: Db, eventId: string): boolean {
  return (
    db
      .select({ id: notificationsNotifications.id })
      .from(notificationsNotifications)
      .where(eq(notificationsNotifications.eventId, eventId))
      .get() !== undefined
  );
}

export function findContact(db: Db, userId: string) {
  return db.select().from(notificationsContacts).where(eq(notificationsContacts.userId, userId)).get();
}
