import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** Tables of the orders module (in `orders.db`). */

export type OrderStatus = 'pending' | 'confirmed' | 'payment_failed' | 'cancelled';

export interface PricedLineRow {
  readonly sku: string;
  readonly quantity: number;
  readonly priceCents: number;
}

/** Orders. `idempotency_key` is unique per user, so a repeated POST finds the first order. */
export const ordersOrders = sqliteTable(
  'orders_orders',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    status: text('status').$type<OrderStatus>().notNull(),
    items: text('items', { mode: 'json' }).$type<PricedLineRow[]>().notNull(),
    totalCents: integer('total_cents').notNull(),
    reason: text('reason'),
    idempotencyKey: text('idempotency_key'),
    /** Fingerprint of the request that used the key: the same key with another body is refused. */
    requestHash: text('request_hash'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('orders_orders_idempotency').on(t.userId, t.idempotencyKey),
    // GET /orders: a user's orders in keyset order (created_at, id), one index range per page.
    index('orders_orders_user').on(t.userId, t.createdAt, t.id),
  ],
);

/** The local price catalogue, kept from inventory's product events (event-carried state transfer). */
export const ordersCatalogue = sqliteTable('orders_catalogue', {
  sku: text('sku').primaryKey(),
  name: text('name').notNull(),
  priceCents: integer('price_cents').notNull(),
  /** `time` of the product event this row was taken from: an older event never overwrites it. */
  sourceTime: text('source_time').notNull(),
  sourceEventId: text('source_event_id').notNull(),
});

/** Envelope metadata of every message of an order's flow, from every module (GET /orders/:id/timeline). */
export const ordersTimeline = sqliteTable(
  'orders_timeline',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
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
