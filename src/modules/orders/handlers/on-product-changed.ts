import { sql } from 'drizzle-orm';
import { type Db, type HandlerContext, type MessageOf, preparedOnce } from '../../../kernel/index.js';
import type { productCreated, productUpdated } from '../../inventory/contracts.js';
import { ordersCatalogue } from '../schema.js';

const catalogueRow = {
  sku: sql.placeholder('sku'),
  name: sql.placeholder('name'),
  priceCents: sql.placeholder('priceCents'),
  sourceTime: sql.placeholder('sourceTime'),
  sourceEventId: sql.placeholder('sourceEventId'),
};

const upsertCatalogue = (db: Db) =>
  db
    .insert(ordersCatalogue)
    .values(catalogueRow)
    .onConflictDoUpdate({
      target: ordersCatalogue.sku,
      set: {
        name: sql`excluded.name`,
        priceCents: sql`excluded.price_cents`,
        sourceTime: sql`excluded.source_time`,
        sourceEventId: sql`excluded.source_event_id`,
      },
      setWhere: sql`${ordersCatalogue.sourceTime} <= excluded.source_time`,
    });

/**
 * inventory.product-created / product-updated → the local price catalogue (event-carried state
 * transfer). Upsert guarded by the event time: an older event (a replayed dead letter, a late
 * redelivery) never overwrites a newer one; the same event twice changes nothing.
 */
export async function onProductChanged(
  message: MessageOf<typeof productCreated | typeof productUpdated>,
  handlerCtx: HandlerContext,
): Promise<void> {
  const { sku, name, priceCents } = message.data;
  const row = { sku, name, priceCents, sourceTime: message.time, sourceEventId: message.id };
  await handlerCtx.transact(async (tx) => {
    await preparedOnce(tx.db, upsertCatalogue).exec(row);
  });
}
