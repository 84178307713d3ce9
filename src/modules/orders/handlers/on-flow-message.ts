import { sql } from 'drizzle-orm';
import { type Db, type Envelope, type HandlerContext, preparedOnce, type Tx } from '../../../kernel/index.js';
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

const orderIdOf = (message: Envelope): string | undefined => {
  const orderId = (message.data as { orderId?: unknown }).orderId;
  return typeof orderId === 'string' ? orderId : undefined;
};

/** One timeline row with the message's envelope metadata, keyed by its order. Once per message id. */
function recordTimelineRow(db: Db, message: Envelope, orderId: string): void {
  preparedOnce(db, insertTimelineRow).run({
    eventId: message.id,
    orderId,
    type: message.type,
    source: message.source,
    time: message.time,
    correlationId: message.correlationid,
    causationId: message.causationid,
  });
}

/**
 * A message of an order's checkout flow from another module → its timeline row. (The same
 * message twice is one row; one of this module's own, left in a queue by an older version that
 * routed them here, too.)
 */
export async function onFlowMessage(message: Envelope, handlerCtx: HandlerContext): Promise<void> {
  const orderId = orderIdOf(message);
  if (orderId === undefined) return;
  await handlerCtx.transact((tx) => recordTimelineRow(tx.db, message, orderId));
}

/** A flow message this module stages (its events, its saga's commands) → its timeline row, in that transaction. */
export function onOwnFlowMessageStaged(tx: Tx, message: Envelope): void {
  const orderId = orderIdOf(message);
  if (orderId !== undefined) recordTimelineRow(tx.db, message, orderId);
}
