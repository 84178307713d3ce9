import type { Static } from 'typebox';
import type { HandlerContext, MessageDraft, MessageOf, Tx } from '../../../kernel/index.js';
import { outOfStock, type reserveStock, stockReserved } from '../contracts.js';
import { findProductRow, findReservation } from '../queries.js';
import { inventoryReservations, type ReservationRow } from '../schema.js';
import { moveStock, quantitiesBySku } from '../stock.js';

type ReserveStock = Static<typeof reserveStock.schema>;

/**
 * inventory.reserve-stock: reserves every line of the order, or none (then out-of-stock names the
 * short skus; an unknown sku is short). Idempotent per order id: a second command for an order
 * already decided replies the recorded outcome again; a released (compensated) order is refused.
 */
export async function onReserveStock(
  message: MessageOf<typeof reserveStock>,
  ctx: HandlerContext,
): Promise<void> {
  await ctx.transact(async (tx) => {
    const previous = await findReservation(tx.db, message.data.orderId);
    await tx.stage(previous ? replyAgain(previous, message.data) : await reserve(tx, message.data));
  });
}

async function reserve(tx: Tx, order: ReserveStock): Promise<MessageDraft> {
  const { orderId, userId, items } = order;
  const short: string[] = [];
  for (const [sku, quantity] of quantitiesBySku(items)) {
    if (((await findProductRow(tx.db, sku))?.stock ?? 0) < quantity) short.push(sku);
  }
  const status = short.length > 0 ? 'out_of_stock' : 'reserved';
  if (status === 'reserved') await moveStock(tx, items, 'reserve');
  await tx.db.insert(inventoryReservations).values({
    orderId,
    userId,
    status,
    items: status === 'reserved' ? items : [],
    shortSkus: short,
    updatedAt: Date.now(),
  });
  return status === 'reserved'
    ? stockReserved({ orderId, userId, items })
    : outOfStock({ orderId, userId, skus: short });
}

function replyAgain(previous: ReservationRow, order: ReserveStock): MessageDraft {
  const { orderId, userId } = order;
  switch (previous.status) {
    case 'reserved':
      return stockReserved({ orderId, userId, items: previous.items });
    case 'out_of_stock':
      return outOfStock({ orderId, userId, skus: previous.shortSkus });
    case 'released':
      return outOfStock({ orderId, userId, skus: [...quantitiesBySku(order.items).keys()] });
  }
}
