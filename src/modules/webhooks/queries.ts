import { and, asc, desc, eq, inArray, type SQL, sql } from 'drizzle-orm';
import { type Db, preparedOnce } from '../../kernel/index.js';
import {
  type DeliveryStatus,
  type OwnerRole,
  webhooksDeliveries,
  webhooksSubscriptionEvents,
  webhooksSubscriptions,
} from './schema.js';

export interface SubscriptionView {
  readonly id: string;
  readonly url: string;
  readonly events: string[];
  readonly createdAt: string;
}

export interface DeliveryView {
  readonly id: string;
  readonly eventId: string;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly responseStatus: number | null;
  readonly lastError: string | null;
}

/** How many deliveries GET /webhooks/:id/deliveries shows: the newest ones. */
export const DELIVERIES_SHOWN = 100;

function eventTypesOf(db: Db, subscriptionIds: readonly string[]): Map<string, string[]> {
  const byId = new Map<string, string[]>(subscriptionIds.map((id) => [id, []]));
  if (subscriptionIds.length === 0) return byId;
  const rows = db
    .select()
    .from(webhooksSubscriptionEvents)
    .where(inArray(webhooksSubscriptionEvents.subscriptionId, [...subscriptionIds]))
    .orderBy(asc(webhooksSubscriptionEvents.eventType))
    .all();
  for (const row of rows) byId.get(row.subscriptionId)?.push(row.eventType);
  return byId;
}

/** The user's subscriptions, oldest first (never their secrets). */
export function listSubscriptions(db: Db, userId: string): SubscriptionView[] {
  const rows = db
    .select()
    .from(webhooksSubscriptions)
    .where(eq(webhooksSubscriptions.userId, userId))
    .orderBy(asc(webhooksSubscriptions.createdAt), asc(webhooksSubscriptions.id))
    .all();
  const events = eventTypesOf(
    db,
    rows.map((row) => row.id),
  );
  return rows.map((row) => ({
    id: row.id,
    url: row.url,
    events: events.get(row.id) ?? [],
    createdAt: new Date(row.createdAt).toISOString(),
  }));
}

/** True when the subscription exists and belongs to this user. */
export function ownsSubscription(db: Db, userId: string, id: string): boolean {
  const found = db
    .select({ id: webhooksSubscriptions.id })
    .from(webhooksSubscriptions)
    .where(and(eq(webhooksSubscriptions.id, id), eq(webhooksSubscriptions.userId, userId)))
    .get();
  return found !== undefined;
}

/** The subscription's newest deliveries, newest first. */
export function listDeliveries(db: Db, subscriptionId: string): DeliveryView[] {
  return db
    .select({
      id: webhooksDeliveries.id,
      eventId: webhooksDeliveries.eventId,
      status: webhooksDeliveries.status,
      attempts: webhooksDeliveries.attempts,
      responseStatus: webhooksDeliveries.responseStatus,
      lastError: webhooksDeliveries.lastError,
    })
    .from(webhooksDeliveries)
    .where(eq(webhooksDeliveries.subscriptionId, subscriptionId))
    .orderBy(desc(webhooksDeliveries.createdAt), desc(webhooksDeliveries.id))
    .limit(DELIVERIES_SHOWN)
    .all();
}

/** Who an event may reach: the user it is about, or, for events about no user, admins. */
export type Audience = { readonly userId: string } | { readonly role: OwnerRole };

/** The subscriptions that name this event type and whose owner is in the audience. */
/** Every event type some subscription names: what the module's consumer needs routed to it. */
export function namedEventTypes(db: Db): string[] {
  return db
    .selectDistinct({ type: webhooksSubscriptionEvents.eventType })
    .from(webhooksSubscriptionEvents)
    .all()
    .map((row) => row.type);
}

const subscribers = (db: Db, owner: SQL) =>
  db
    .select({ id: webhooksSubscriptions.id })
    .from(webhooksSubscriptionEvents)
    .innerJoin(webhooksSubscriptions, eq(webhooksSubscriptions.id, webhooksSubscriptionEvents.subscriptionId))
    .where(and(eq(webhooksSubscriptionEvents.eventType, sql.placeholder('eventType')), owner))
    .prepare();
const userSubscribers = (db: Db) =>
  subscribers(db, eq(webhooksSubscriptions.userId, sql.placeholder('owner')));
const roleSubscribers = (db: Db) =>
  subscribers(db, eq(webhooksSubscriptions.ownerRole, sql.placeholder('owner')));

/** Runs for every event the module sees: a query prepared once per database. */
export function subscribersOf(db: Db, eventType: string, audience: Audience): string[] {
  const [query, owner] =
    'userId' in audience
      ? [preparedOnce(db, userSubscribers), audience.userId]
      : [preparedOnce(db, roleSubscribers), audience.role];
  return query.all({ eventType, owner }).map((row) => row.id);
}
