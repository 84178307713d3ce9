import type { Envelope, HandlerContext } from '../../../kernel/index.js';
import { ordersTimeline } from '../schema.js';

/**
 * Every message of an order's checkout flow, from every module → one timeline row with its
 * envelope metadata, keyed by the order id in its data. The same message twice is one row.
 */
export function onFlowMessage(message: Envelope, handlerCtx: HandlerContext): void {
  const orderId = (message.data as { orderId?: unknown }).orderId;
  if (typeof orderId !== 'string') return;
  handlerCtx.transact((tx) => {
    tx.db
      .insert(ordersTimeline)
      .values({
        eventId: message.id,
        orderId,
        type: message.type,
        source: message.source,
        time: message.time,
        correlationId: message.correlationid,
        causationId: message.causationid,
      })
      .onConflictDoNothing()
      .run();
  });
}
