import { eq, sql } from 'drizzle-orm';
import { type Db, preparedOnce, type Tx } from '../../kernel/index.js';
import { productUpdated } from './contracts.js';
import { toProduct } from './queries.js';
import { inventoryProducts, type ReservedLine } from './schema.js';

/** Sums the quantities of an order's lines per sku (an order may name a sku twice). */
export function quantitiesBySku(lines: readonly ReservedLine[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const line of lines) totals.set(line.sku, (totals.get(line.sku) ?? 0) + line.quantity);
  return totals;
}

/**
 * Moves units between available stock and reserved (`reserve`: stock → reserved, `release`: back)
 * and publishes the full new state of every product touched. Runs in the caller's transaction;
 * the table's CHECK constraints make a negative stock or reservation abort it.
 */
const moveUnits = (db: Db) =>
  db
    .update(inventoryProducts)
    .set({
      stock: sql`${inventoryProducts.stock} - ${sql.placeholder('units')}`,
      reserved: sql`${inventoryProducts.reserved} + ${sql.placeholder('units')}`,
      updatedAt: sql`${sql.placeholder('now')}`,
    })
    .where(eq(inventoryProducts.sku, sql.placeholder('sku')))
    .returning();

export async function moveStock(
  tx: Tx,
  lines: readonly ReservedLine[],
  direction: 'reserve' | 'release',
): Promise<void> {
  const sign = direction === 'reserve' ? 1 : -1;
  const move = preparedOnce(tx.db, moveUnits);
  for (const [sku, quantity] of quantitiesBySku(lines)) {
    const row = await move.one({ sku, units: sign * quantity, now: Date.now() });
    if (row) await tx.stage(productUpdated(toProduct(row)));
  }
}
