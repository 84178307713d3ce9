import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** Tables of the webhooks module (in `webhooks.db`). */

export type OwnerRole = 'user' | 'admin';
export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/**
 * A user's webhook. `owner_role` is the role the owner had when creating it: it decides whether
 * events about no user (the product catalogue) reach it. The secret signs every delivery, so it
 * is kept as is; the API shows it once, in the answer to the POST.
 */
export const webhooksSubscriptions = sqliteTable(
  'webhooks_subscriptions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    ownerRole: text('owner_role').$type<OwnerRole>().notNull(),
    url: text('url').notNull(),
    secret: text('secret').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  // GET /webhooks: a user's subscriptions in keyset order (created_at, id).
  (t) => [index('webhooks_subscriptions_user').on(t.userId, t.createdAt, t.id)],
);

/** The event types a subscription names: one row each, so the handler finds subscribers by type. */
export const webhooksSubscriptionEvents = sqliteTable(
  'webhooks_subscription_events',
  {
    subscriptionId: text('subscription_id').notNull(),
    eventType: text('event_type').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.subscriptionId, t.eventType] }),
    index('webhooks_subscription_events_type').on(t.eventType),
  ],
);

/**
 * One row per (subscription, event): the durable to-do list of the dispatcher, and the history
 * GET /webhooks/:id/deliveries shows. `payload` is the exact body sent (the CloudEvents envelope).
 * A pending row is due at `next_attempt_at`; `locked_until` is the lease of the attempt running
 * now, so two dispatchers never send the same row at once and a crashed one's lease runs out.
 */
export const webhooksDeliveries = sqliteTable(
  'webhooks_deliveries',
  {
    id: text('id').primaryKey(),
    subscriptionId: text('subscription_id').notNull(),
    eventId: text('event_id').notNull(),
    eventType: text('event_type').notNull(),
    payload: text('payload').notNull(),
    status: text('status').$type<DeliveryStatus>().notNull(),
    attempts: integer('attempts').notNull(),
    responseStatus: integer('response_status'),
    lastError: text('last_error'),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    lockedUntil: integer('locked_until'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('webhooks_deliveries_event').on(t.subscriptionId, t.eventId),
    index('webhooks_deliveries_due').on(t.status, t.nextAttemptAt),
    // The dispatcher's fair share: due and leased deliveries counted per subscription from the
    // index alone (in subscription order, no sort, no table row read), then a subscription's
    // oldest due ones (delivery/rows.ts). Over 20,000 due deliveries the count took 8 ms of CPU
    // with it, 21 ms reading the rows.
    index('webhooks_deliveries_pending').on(t.status, t.subscriptionId, t.nextAttemptAt, t.lockedUntil),
    // GET /webhooks/:id/deliveries: keyset order (created_at, id).
    index('webhooks_deliveries_subscription').on(t.subscriptionId, t.createdAt, t.id),
  ],
);
