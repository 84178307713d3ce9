import { sql } from 'drizzle-orm';
import { bigint, check, integer, pgSchema, text } from 'drizzle-orm/pg-core';
import { jsonText } from '../../kernel/index.js';
import type { ReservedLine } from './schema.js';

/**
 * The inventory tables on PostgreSQL, in schema `inventory`: the twins of `schema.ts` (read it for
 * what each table is for), with the same row types. The API caps a price and a stock level at 1e9,
 * but `reserved` adds up what orders hold and `stock` is refilled while they hold it, so the
 * quantities are `bigint` (read as JS numbers), like every epoch-ms time; a price stays `integer`.
 *
 * The schema object is not exported: drizzle-kit would write `CREATE SCHEMA` into the migration,
 * and the migrator creates the schema itself before the kernel tables go in.
 */
const inventory = pgSchema('inventory');

export const inventoryProducts = inventory.table(
  'inventory_products',
  {
    sku: text('sku').primaryKey(),
    name: text('name').notNull(),
    priceCents: integer('price_cents').notNull(),
    stock: bigint('stock', { mode: 'number' }).notNull(),
    reserved: bigint('reserved', { mode: 'number' }).notNull().default(0),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    check('inventory_products_price_positive', sql`${t.priceCents} > 0`),
    check('inventory_products_stock_not_negative', sql`${t.stock} >= 0`),
    check('inventory_products_reserved_not_negative', sql`${t.reserved} >= 0`),
  ],
);

export const inventoryReservations = inventory.table('inventory_reservations', {
  orderId: text('order_id').primaryKey(),
  userId: text('user_id').notNull(),
  status: text('status', { enum: ['reserved', 'out_of_stock', 'released'] }).notNull(),
  items: jsonText<ReservedLine[]>('items').notNull(),
  shortSkus: jsonText<string[]>('short_skus').notNull(),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
});
