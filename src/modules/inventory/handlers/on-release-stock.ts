import type { HandlerContext, MessageOf } from '../../../kernel/index.js';
import { type releaseStock, stockReleased } from '../contracts.js';
import { findReservation } from '../queries.js';
import { inventoryReservations } from '../schema.js';
import { moveStock } from '../stock.js';

/**
 * inventory.release-stock (saga compensation): gives an order's reserved units back to stock, if
 * it holds any, and replies stock-released with what was given back. The order is remembered as
 * released, so a reserve-stock arriving later for it is refused. Idempotent per order id.
 */
export async function onReleaseStock(
  message: MessageOf<typeof releaseStock>,
  ctx: HandlerContext,
): Promise<void> {
  const { orderId, userId } = message.data;
  await ctx.transact(async (tx) => {
    const previous = await findReservation(tx.db, orderId);
    if (previous?.status === 'released') {
      await tx.stage(stockReleased({ orderId, userId, items: previous.items }));
      return;
    }
    const returned = previous?.status === 'reserved' ? previous.items : [];
    await moveStock(tx, returned, 'release');
    await tx.db
      .insert(inventoryReservations)
      .values({ orderId, userId, status: 'released', items: returned, shortSkus: [], updatedAt: Date.now() })
      .onConflictDoUpdate({
        target: inventoryReservations.orderId,
        set: { status: 'released', items: returned, updatedAt: Date.now() },
      });
    await tx.stage(stockReleased({ orderId, userId, items: returned }));
  });
}
