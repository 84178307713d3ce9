import { bigint, bigserial, integer, pgSchema, text } from 'drizzle-orm/pg-core';
import { jsonText } from '../../kernel/index.js';

/**
 * The analytics tables on PostgreSQL, in schema `analytics`: the twins of `schema.ts` (read it for
 * what each table is for), with the same row types. Counts and sums of cents over every order grow
 * without bound, so they are `bigint` (read as JS numbers), like every epoch-ms time.
 *
 * The schema object is not exported: drizzle-kit would write `CREATE SCHEMA` into the migration,
 * and the migrator creates the schema itself before the kernel tables go in.
 */
const analytics = pgSchema('analytics');

export const analyticsEventLog = analytics.table('analytics_event_log', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  eventId: text('event_id').notNull().unique(),
  type: text('type').notNull(),
  schemaVersion: integer('schema_version').notNull(),
  time: text('time').notNull(),
  data: jsonText<unknown>('data').notNull(),
  recordedAt: bigint('recorded_at', { mode: 'number' }).notNull(),
});

export const analyticsSummary = analytics.table('analytics_summary', {
  // SQLite's INTEGER PRIMARY KEY numbers a row inserted without one; an identity does the same.
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  ordersPlaced: bigint('orders_placed', { mode: 'number' }).notNull(),
  ordersConfirmed: bigint('orders_confirmed', { mode: 'number' }).notNull(),
  ordersPaymentFailed: bigint('orders_payment_failed', { mode: 'number' }).notNull(),
  ordersCancelled: bigint('orders_cancelled', { mode: 'number' }).notNull(),
  revenueCents: bigint('revenue_cents', { mode: 'number' }).notNull(),
  refundedCents: bigint('refunded_cents', { mode: 'number' }).notNull(),
});
