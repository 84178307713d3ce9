import { eq, sql } from 'drizzle-orm';
import type { Static } from 'typebox';
import {
  type Db,
  keysetList,
  mapPage,
  type Page,
  type PageRequest,
  preparedOnce,
} from '../../kernel/index.js';
import type { ProductState } from './contracts.js';
import { inventoryProducts, inventoryReservations, type ProductRow, type ReservationRow } from './schema.js';

export type Product = Static<typeof ProductState>;

/** The public (and event-carried) state of a product. */
export function toProduct(row: ProductRow): Product {
  return {
    sku: row.sku,
    name: row.name,
    priceCents: row.priceCents,
    stock: row.stock,
    reserved: row.reserved,
  };
}

const productBySku = (db: Db) =>
  db
    .select()
    .from(inventoryProducts)
    .where(eq(inventoryProducts.sku, sql.placeholder('sku')));

export function findProductRow(db: Db, sku: string): Promise<ProductRow | undefined> {
  return preparedOnce(db, productBySku).one({ sku });
}

export async function findProduct(db: Db, sku: string): Promise<Product | undefined> {
  const row = await findProductRow(db, sku);
  return row && toProduct(row);
}

const bySku = keysetList('inventory-products', inventoryProducts, ['sku'], 'asc');

/** A page of the catalogue, by sku (the primary key). */
export async function listProducts(db: Db, request: PageRequest): Promise<Page<Product>> {
  return mapPage(await bySku.page(db, undefined, request), toProduct);
}

const reservationOfOrder = (db: Db) =>
  db
    .select()
    .from(inventoryReservations)
    .where(eq(inventoryReservations.orderId, sql.placeholder('orderId')));

export function findReservation(db: Db, orderId: string): Promise<ReservationRow | undefined> {
  return preparedOnce(db, reservationOfOrder).one({ orderId });
}
