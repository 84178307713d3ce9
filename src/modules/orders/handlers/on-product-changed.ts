import { sql } from 'drizzle-orm';
import { type Envelope, type HandlerContext, isMessage } from '../../../kernel/index.js';
import { productCreated, productUpdated } from '../../inventory/contracts.js';
import { ordersCatalogue } from '../schema.js';

/**
 * inventory.product-created / product-updated → the local price catalogue (event-carried state
 * transfer). Upsert guarded by the event time: an older event (a replayed dead letter, a late
 * redelivery) never overwrites a newer one; the same event twice changes nothing.
 */
export function onProductChanged(message: Envelope, handlerCtx: HandlerContext): void {
  if (!isMessage(productCreated, message) && !isMessage(productUpdated, message)) return;
  const { sku, name, priceCents } = message.data;
  const row = { sku, name, priceCents, sourceTime: message.time, sourceEventId: message.id };
  handlerCtx.transact((tx) => {
    tx.db
      .insert(ordersCatalogue)
      .values(row)
      .onConflictDoUpdate({
        target: ordersCatalogue.sku,
        set: row,
        setWhere: sql`${ordersCatalogue.sourceTime} <= excluded.source_time`,
      })
      .run();
  });
}
