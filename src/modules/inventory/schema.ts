import { sql } from 'drizzle-orm';
import { check, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** Products. `stock` is what is available; `reserved` is what orders hold. */
export const inventoryProducts = sqliteTable(
  'inventory_products',
  {
    sku: text('sku').primaryKey(),
    name: text('name').notNull(),
    priceCents: integer('price_cents').notNull(),
    stock: integer('stock').notNull(),
    reserved: integer('reserved').notNull().default(0),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    check('inventory_products_price_positive', sql`${t.priceCents} > 0`),
    check('inventory_products_stock_not_negative', sql`${t.stock} >= 0`),
    check('inventory_products_reserved_not_negative', sql`${t.reserved} >= 0`),
  ],
);

export interface ReservedLine {
  sku: string;
  quantity: number;
}

/**
 * What each order got, so that reserve-stock and release-stock are idempotent per order id:
 * `reserved` (holds `items`), `out_of_stock` (names `shortSkus`, holds nothing), or `released`
 * (compensated: `items` were given back; a later reserve-stock for it is refused).
 */
export const inventoryReservations = sqliteTable('inventory_reservations', {
  orderId: text('order_id').primaryKey(),
  userId: text('user_id').notNull(),
  status: text('status', { enum: ['reserved', 'out_of_stock', 'released'] }).notNull(),
  items: text('items', { mode: 'json' }).$type<ReservedLine[]>().notNull(),
  shortSkus: text('short_skus', { mode: 'json' }).$type<string[]>().notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export type ProductRow = typeof inventoryProducts.$inferSelect;
export type ReservationRow = typeof inventoryReservations.$inferSelect;
