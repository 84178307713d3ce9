import type { Static } from 'typebox';
import type { HandlerContext, MessageDraft, MessageOf } from '../../../kernel/index.js';
import { decideCharge, type OrderPayment } from '../account.js';
import { type chargePayment, paymentCompleted, paymentFailed } from '../contracts.js';
import { changeOrderPayment } from '../event-store.js';

type ChargePayment = Static<typeof chargePayment.schema>;

/**
 * payments.charge-payment: charges the order's amount when the balance covers it (payment-
 * completed with the new balance), else payment-failed (insufficient_funds). The balance check and
 * the append are one transaction, so no charge can overdraw. Idempotent per order id: a later
 * charge for the same order replies the recorded outcome; one for an order already refunded or
 * closed is refused (order_closed). A version conflict throws, so the consumer retries.
 */
export async function onChargePayment(
  message: MessageOf<typeof chargePayment>,
  ctx: HandlerContext,
): Promise<void> {
  const charge = message.data;
  await changeOrderPayment(
    ctx,
    charge.userId,
    charge.orderId,
    (account, payment) => decideCharge(account, payment, charge.orderId, charge.amountCents),
    (payment) => reply(charge, payment),
  );
}

function reply(charge: ChargePayment, outcome: OrderPayment | undefined): MessageDraft {
  const { orderId, userId } = charge;
  switch (outcome?.status) {
    case 'charged':
      return paymentCompleted({
        orderId,
        userId,
        amountCents: outcome.amountCents,
        balanceCents: outcome.balanceCents,
      });
    case 'failed':
      return paymentFailed({ orderId, userId, amountCents: outcome.amountCents, reason: outcome.reason });
    default:
      return paymentFailed({ orderId, userId, amountCents: charge.amountCents, reason: 'order_closed' });
  }
}
