import { eq, sql } from 'drizzle-orm';
import {
  type Db,
  keysetList,
  mapPage,
  type Page,
  type PageRequest,
  preparedOnce,
} from '../../kernel/index.js';
import { notificationsContacts, notificationsNotifications } from './schema.js';

export interface NotificationView {
  readonly id: string;
  readonly eventId: string;
  readonly kind: string;
  readonly subject: string;
  readonly body: string;
  readonly createdAt: string;
}

const oldestFirst = keysetList('notifications', notificationsNotifications, ['createdAt', 'id'], 'asc');

/** A page of the user's notifications, oldest first (index notifications_notifications_user). */
export async function listNotifications(
  db: Db,
  userId: string,
  request: PageRequest,
): Promise<Page<NotificationView>> {
  const page = await oldestFirst.page(db, eq(notificationsNotifications.userId, userId), request);
  return mapPage(page, (row) => ({
    id: row.id,
    eventId: row.eventId,
    kind: row.kind,
    subject: row.subject,
    body: row.body,
    createdAt: new Date(row.createdAt).toISOString(),
  }));
}

const notificationOfEvent = (db: Db) =>
  db
    .select({ id: notificationsNotifications.id })
    .from(notificationsNotifications)
    .where(eq(notificationsNotifications.eventId, sql.placeholder('eventId')));

export async function isNotified(db: Db, eventId: string): Promise<boolean> {
  return (await preparedOnce(db, notificationOfEvent).one({ eventId })) !== undefined;
}

const contactOfUser = (db: Db) =>
  db
    .select()
    .from(notificationsContacts)
    .where(eq(notificationsContacts.userId, sql.placeholder('userId')));

export function findContact(db: Db, userId: string) {
  return preparedOnce(db, contactOfUser).one({ userId });
}
