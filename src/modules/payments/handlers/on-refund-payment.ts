import type { HandlerContext, MessageOf } from '../../../kernel/index.js';
import { decideRefund } from '../account.js';
import { paymentRefunded, type refundPayment } from '../contracts.js';
import { changeOrderPayment } from '../event-store.js';

/**
 * payments.refund-payment (saga compensation): gives back the order's charge (payment-refunded
 * with the amount and the new balance). Without a charge it closes the order, so a charge arriving
 * later is refused, and replies with amount 0. Idempotent per order id: a later refund replies
 * the recorded outcome. A version conflict throws, so the consumer retries.
 */
export async function onRefundPayment(
  message: MessageOf<typeof refundPayment>,
  ctx: HandlerContext,
): Promise<void> {
  const { orderId, userId } = message.data;
  await changeOrderPayment(
    ctx,
    userId,
    orderId,
    (_account, payment) => decideRefund(payment, orderId),
    (payment, account) =>
      paymentRefunded({
        orderId,
        userId,
        amountCents: payment?.status === 'refunded' ? payment.amountCents : 0,
        balanceCents: payment?.balanceCents ?? account.balanceCents,
      }),
  );
}
