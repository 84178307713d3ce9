import { sql } from 'drizzle-orm';
import { type Db, type Envelope, type HandlerContext, preparedOnce } from '../../../kernel/index.js';
import { ordersTimeline } from '../schema.js';

const insertTimelineRow = (db: Db) =>
  db
    .insert(ordersTimeline)
    .values({
      eventId: sql.placeholder('eventId'),
      orderId: sql.placeholder('orderId'),
      type: sql.placeholder('type'),
      source: sql.placeholder('source'),
      time: sql.placeholder('time'),
      correlationId: sql.placeholder('correlationId'),
      causationId: sql.placeholder('causationId'),
    })
    .onConflictDoNothing()
    .prepare();

/**
 * Every message of an order's checkout flow, from every module → one timeline row with its
 * envelope metadata, keyed by the order id in its data. The same message twice is one row.
 */
export function onFlowMessage(message: Envelope, handlerCtx: HandlerContext): void {
  const orderId = (message.data as { orderId?: unknown }).orderId;
  if (typeof orderId !== 'string') return;
  handlerCtx.transact((tx) => {
    preparedOnce(tx.db, insertTimelineRow).run({
      eventId: message.id,
      orderId,
      type: message.type,
      source: message.source,
      time: message.time,
      correlationId: message.correlationid,
      causationId: message.causationid,
    });
  });
}
