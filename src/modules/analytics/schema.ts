import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** Tables of the analytics module (in `analytics.db`). */

/** Append-only log of every event the projections consumed: the source a rebuild replays. */
export const analyticsEventLog = sqliteTable('analytics_event_log', {
  seq: integer('seq').primaryKey({ autoIncrement: true }),
  eventId: text('event_id').notNull().unique(),
  type: text('type').notNull(),
  schemaVersion: integer('schema_version').notNull(),
  time: text('time').notNull(),
  data: text('data', { mode: 'json' }).$type<unknown>().notNull(),
  recordedAt: integer('recorded_at').notNull(),
});

/** Read model: the order summary (one row, id 1). */
export const analyticsSummary = sqliteTable('analytics_summary', {
  id: integer('id').primaryKey(),
  ordersPlaced: integer('orders_placed').notNull(),
  ordersConfirmed: integer('orders_confirmed').notNull(),
  ordersPaymentFailed: integer('orders_payment_failed').notNull(),
  ordersCancelled: integer('orders_cancelled').notNull(),
  revenueCents: integer('revenue_cents').notNull(),
  refundedCents: integer('refunded_cents').notNull(),
});
