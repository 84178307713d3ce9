/**
 * Each order's payment as its account's stream left it (`payments_order_payments`): written by
 * the event store in the transaction that appends the order's events, read by a charge or a
 * refund to decide. Prepared once per database.
 */
import { and, eq, sql } from 'drizzle-orm';
import { type Db, preparedOnce } from '../../kernel/index.js';
import type { FailureReason, OrderPayment } from './account.js';
import { type OrderPaymentRow, paymentsOrderPayments } from './schema.js';

const upsertOrderPayment = (db: Db) =>
  db
    .insert(paymentsOrderPayments)
    .values({
      accountId: sql.placeholder('accountId'),
      orderId: sql.placeholder('orderId'),
      status: sql.placeholder('status'),
      amountCents: sql.placeholder('amountCents'),
      reason: sql.placeholder('reason'),
      balanceCents: sql.placeholder('balanceCents'),
    })
    .onConflictDoUpdate({
      target: [paymentsOrderPayments.accountId, paymentsOrderPayments.orderId],
      set: {
        status: sql`excluded.status`,
        amountCents: sql`excluded.amount_cents`,
        reason: sql`excluded.reason`,
        balanceCents: sql`excluded.balance_cents`,
      },
    });

/** Records (or replaces) the order's payment. Call inside the append's transaction. */
export async function recordOrderPayment(
  db: Db,
  accountId: string,
  orderId: string,
  payment: OrderPayment,
): Promise<void> {
  await preparedOnce(db, upsertOrderPayment).exec({
    accountId,
    orderId,
    status: payment.status,
    amountCents: 'amountCents' in payment ? payment.amountCents : null,
    reason: 'reason' in payment ? payment.reason : null,
    balanceCents: payment.balanceCents,
  });
}

const orderPaymentQuery = (db: Db) =>
  db
    .select()
    .from(paymentsOrderPayments)
    .where(
      and(
        eq(paymentsOrderPayments.accountId, sql.placeholder('accountId')),
        eq(paymentsOrderPayments.orderId, sql.placeholder('orderId')),
      ),
    );

/** The order's payment as the account's stream left it; undefined for an order it never named. */
export async function findOrderPayment(
  db: Db,
  accountId: string,
  orderId: string,
): Promise<OrderPayment | undefined> {
  const row = await preparedOnce(db, orderPaymentQuery).one({ accountId, orderId });
  return row && toOrderPayment(row);
}

function toOrderPayment(row: OrderPaymentRow): OrderPayment {
  const { status, balanceCents } = row;
  const amountCents = row.amountCents ?? 0;
  switch (status) {
    case 'charged':
    case 'refunded':
      return { status, amountCents, balanceCents };
    case 'failed':
      return { status, amountCents, reason: row.reason as FailureReason, balanceCents };
    case 'closed':
      return { status, balanceCents };
  }
}
