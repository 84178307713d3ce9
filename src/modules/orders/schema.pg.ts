import { bigint, bigserial, index, integer, pgSchema, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { jsonText } from '../../kernel/index.js';
import type { OrderStatus, PricedLineRow } from './schema.js';

/**
 * The orders tables on PostgreSQL, in schema `orders`: the twins of `schema.ts` (read it for what
 * each table is for), with the same row types. `total_cents` sums lines up to 100 × 1000 × 1e9
 * cents, so it is `bigint` (read as a JS number), like every epoch-ms time; a price stays `integer`
 * (the API caps it at 1e9).
 *
 * The schema object is not exported: drizzle-kit would write `CREATE SCHEMA` into the migration,
 * and the migrator creates the schema itself before the kernel tables go in.
 */
const orders = pgSchema('orders');

export const ordersOrders = orders.table(
  'orders_orders',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    status: text('status').$type<OrderStatus>().notNull(),
    items: jsonText<PricedLineRow[]>('items').notNull(),
    totalCents: bigint('total_cents', { mode: 'number' }).notNull(),
    reason: text('reason'),
    idempotencyKey: text('idempotency_key'),
    requestHash: text('request_hash'),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    uniqueIndex('orders_orders_idempotency').on(t.userId, t.idempotencyKey),
    index('orders_orders_user').on(t.userId, t.createdAt, t.id),
  ],
);

export const ordersCatalogue = orders.table('orders_catalogue', {
  sku: text('sku').primaryKey(),
  name: text('name').notNull(),
  priceCents: integer('price_cents').notNull(),
  sourceTime: text('source_time').notNull(),
  sourceEventId: text('source_event_id').notNull(),
});

export const ordersTimeline = orders.table(
  'orders_timeline',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    eventId: text('event_id').notNull(),
    orderId: text('order_id').notNull(),
    type: text('type').notNull(),
    source: text('source').notNull(),
    time: text('time').notNull(),
    correlationId: text('correlation_id').notNull(),
    causationId: text('causation_id'),
  },
  (t) => [
    uniqueIndex('orders_timeline_event').on(t.eventId),
    index('orders_timeline_order').on(t.orderId, t.seq),
  ],
);
