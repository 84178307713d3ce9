import type { Static } from 'typebox';
import type { Envelope, HandlerContext } from '../../../kernel/index.js';
import { decideRefund } from '../account.js';
import { paymentRefunded, type refundPayment } from '../contracts.js';
import { changeAccount } from '../event-store.js';

type RefundPayment = Static<typeof refundPayment.schema>;

/**
 * payments.refund-payment (saga compensation): gives back the order's charge (payment-refunded
 * with the amount and the new balance). Without a charge it closes the order, so a charge arriving
 * later is refused, and replies with amount 0. Idempotent per order id: a later refund replies
 * the recorded outcome. A version conflict throws, so the consumer retries.
 */
export function onRefundPayment(message: Envelope<RefundPayment>, ctx: HandlerContext): void {
  const { orderId, userId } = message.data;
  changeAccount(
    ctx,
    userId,
    (account) => decideRefund(account, orderId),
    (next) => {
      const outcome = next.orders.get(orderId);
      return paymentRefunded({
        orderId,
        userId,
        amountCents: outcome?.status === 'refunded' ? outcome.amountCents : 0,
        balanceCents: outcome?.balanceCents ?? next.balanceCents,
      });
    },
  );
}
