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
    .onConflictDoNothing();

const orderIdOf = (message: Envelope): string | undefined => {
  const orderId = (message.data as { orderId?: unknown }).orderId;
  return typeof orderId === 'string' ? orderId : undefined;
};

/** The timeline row of a message: its envelope metadata, keyed by its order. */
const timelineRow = (message: Envelope, orderId: string) => ({
  eventId: message.id,
  orderId,
  type: message.type,
  source: message.source,
  time: message.time,
  correlationId: message.correlationid,
  causationId: message.causationid,
});

/**
 * A message of an order's checkout flow from another module → its timeline row. (The same
 * message twice is one row; one of this module's own, left in a queue by an older version that
 * routed them here, too.)
 */
export async function onFlowMessage(message: Envelope, handlerCtx: HandlerContext): Promise<void> {
  const orderId = orderIdOf(message);
  if (orderId === undefined) return;
  await handlerCtx.transact(async (tx) => {
    await preparedOnce(tx.db, insertTimelineRow).exec(timelineRow(message, orderId));
  });
}

/**
 * A flow message this module stages (its events, its saga's commands) → its timeline row, in that
 * transaction (the kernel awaits this hook inside `tx.stage`).
 */
export async function onOwnFlowMessageStaged(tx: Tx, message: Envelope): Promise<void> {
  const orderId = orderIdOf(message);
  if (orderId === undefined) return;
  await preparedOnce(tx.db, insertTimelineRow).exec(timelineRow(message, orderId));
}
