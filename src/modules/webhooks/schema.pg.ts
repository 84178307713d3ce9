import { bigint, index, integer, pgSchema, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import type { DeliveryStatus, OwnerRole } from './schema.js';

/**
 * The webhooks tables on PostgreSQL, in schema `webhooks`: the twins of `schema.ts` (read it for
 * what each table is for), with the same row types; epoch-ms times are `bigint` (read as JS
 * numbers), attempt counts and HTTP statuses `integer`.
 *
 * The schema object is not exported: drizzle-kit would write `CREATE SCHEMA` into the migration,
 * and the migrator creates the schema itself before the kernel tables go in.
 */
const webhooks = pgSchema('webhooks');

export const webhooksSubscriptions = webhooks.table(
  'webhooks_subscriptions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    ownerRole: text('owner_role').$type<OwnerRole>().notNull(),
    url: text('url').notNull(),
    secret: text('secret').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('webhooks_subscriptions_user').on(t.userId, t.createdAt, t.id)],
);

export const webhooksSubscriptionEvents = webhooks.table(
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

export const webhooksDeliveries = webhooks.table(
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
    nextAttemptAt: bigint('next_attempt_at', { mode: 'number' }).notNull(),
    lockedUntil: bigint('locked_until', { mode: 'number' }),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    uniqueIndex('webhooks_deliveries_event').on(t.subscriptionId, t.eventId),
    index('webhooks_deliveries_due').on(t.status, t.nextAttemptAt),
    index('webhooks_deliveries_pending').on(t.status, t.subscriptionId, t.nextAttemptAt, t.lockedUntil),
    index('webhooks_deliveries_subscription').on(t.subscriptionId, t.createdAt, t.id),
  ],
);
