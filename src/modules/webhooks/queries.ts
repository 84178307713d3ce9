import { and, asc, count, eq, inArray, type SQL, sql } from 'drizzle-orm';
import {
  type Db,
  keysetList,
  mapPage,
  type Page,
  type PageRequest,
  preparedOnce,
} from '../../kernel/index.js';
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

async function eventTypesOf(db: Db, subscriptionIds: readonly string[]): Promise<Map<string, string[]>> {
  const byId = new Map<string, string[]>(subscriptionIds.map((id) => [id, []]));
  if (subscriptionIds.length === 0) return byId;
  const rows = await db
    .select()
    .from(webhooksSubscriptionEvents)
    .where(inArray(webhooksSubscriptionEvents.subscriptionId, [...subscriptionIds]))
    .orderBy(asc(webhooksSubscriptionEvents.eventType));
  for (const row of rows) byId.get(row.subscriptionId)?.push(row.eventType);
  return byId;
}

const subscriptionsOldestFirst = keysetList('webhooks', webhooksSubscriptions, ['createdAt', 'id'], 'asc');

/** A page of the user's subscriptions, oldest first (never their secrets). */
export async function listSubscriptions(
  db: Db,
  userId: string,
  request: PageRequest,
): Promise<Page<SubscriptionView>> {
  const page = await subscriptionsOldestFirst.page(db, eq(webhooksSubscriptions.userId, userId), request);
  const events = await eventTypesOf(
    db,
    page.items.map((row) => row.id),
  );
  return mapPage(page, (row) => ({
    id: row.id,
    url: row.url,
    events: events.get(row.id) ?? [],
    createdAt: new Date(row.createdAt).toISOString(),
  }));
}

/** How many webhooks the user has (index webhooks_subscriptions_user). */
export async function subscriptionCount(db: Db, userId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(webhooksSubscriptions)
    .where(eq(webhooksSubscriptions.userId, userId));
  return row?.n ?? 0;
}

/** True when the subscription exists and belongs to this user. */
export async function ownsSubscription(db: Db, userId: string, id: string): Promise<boolean> {
  const [found] = await db
    .select({ id: webhooksSubscriptions.id })
    .from(webhooksSubscriptions)
    .where(and(eq(webhooksSubscriptions.id, id), eq(webhooksSubscriptions.userId, userId)));
  return found !== undefined;
}

const deliveriesNewestFirst = keysetList(
  'webhook-deliveries',
  webhooksDeliveries,
  ['createdAt', 'id'],
  'desc',
);

/** A page of the subscription's deliveries, newest first (index webhooks_deliveries_subscription). */
export async function listDeliveries(
  db: Db,
  subscriptionId: string,
  request: PageRequest,
): Promise<Page<DeliveryView>> {
  const page = await deliveriesNewestFirst.page(
    db,
    eq(webhooksDeliveries.subscriptionId, subscriptionId),
    request,
  );
  return mapPage(page, ({ id, eventId, status, attempts, responseStatus, lastError }) => ({
    id,
    eventId,
    status,
    attempts,
    responseStatus,
    lastError,
  }));
}

/** Who an event may reach: the user it is about, or, for events about no user, admins. */
export type Audience = { readonly userId: string } | { readonly role: OwnerRole };

/** The subscriptions that name this event type and whose owner is in the audience. */
/** Every event type some subscription names: what the module's consumer needs routed to it. */
export async function namedEventTypes(db: Db): Promise<string[]> {
  const rows = await db
    .selectDistinct({ type: webhooksSubscriptionEvents.eventType })
    .from(webhooksSubscriptionEvents);
  return rows.map((row) => row.type);
}

const subscribers = (db: Db, owner: SQL) =>
  db
    .select({ id: webhooksSubscriptions.id })
    .from(webhooksSubscriptionEvents)
    .innerJoin(webhooksSubscriptions, eq(webhooksSubscriptions.id, webhooksSubscriptionEvents.subscriptionId))
    .where(and(eq(webhooksSubscriptionEvents.eventType, sql.placeholder('eventType')), owner));
const userSubscribers = (db: Db) =>
  subscribers(db, eq(webhooksSubscriptions.userId, sql.placeholder('owner')));
const roleSubscribers = (db: Db) =>
  subscribers(db, eq(webhooksSubscriptions.ownerRole, sql.placeholder('owner')));

/** Runs for every event the module sees: a query prepared once per database. */
export async function subscribersOf(db: Db, eventType: string, audience: Audience): Promise<string[]> {
  const [query, owner] =
    'userId' in audience
      ? [preparedOnce(db, userSubscribers), audience.userId]
      : [preparedOnce(db, roleSubscribers), audience.role];
  const rows = await query.many({ eventType, owner });
  return rows.map((row) => row.id);
}
