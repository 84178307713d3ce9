import { type Envelope, isMessage } from '../../kernel/index.js';
import { orderCancelled, orderConfirmed, orderPaymentFailed } from '../orders/contracts.js';
import { paymentRefunded } from '../payments/contracts.js';

/** What a notification says, before it is addressed. */
export interface NotificationContent {
  readonly userId: string;
  readonly kind: string;
  readonly subject: string;
  readonly body: string;
}

const money = (cents: number) => `${(cents / 100).toFixed(2)}`;

const CANCEL_REASONS: Record<string, string> = {
  out_of_stock: 'some items are out of stock',
  timeout: 'it could not be completed in time',
};

/**
 * The notification an event calls for: one per terminal order outcome and per refund of a real
 * amount; undefined for anything else (a refund of 0 means nothing had been charged).
 */
export function composeNotification(message: Envelope): NotificationContent | undefined {
  if (isMessage(orderConfirmed, message)) {
    const { orderId, userId, totalCents } = message.data;
    const body = `Your order ${orderId} is confirmed. Total charged: ${money(totalCents)}.`;
    return { userId, kind: 'order-confirmed', subject: 'Your order is confirmed', body };
  }
  if (isMessage(orderPaymentFailed, message)) {
    const { orderId, userId, totalCents } = message.data;
    const body = `We could not charge ${money(totalCents)} for order ${orderId}: insufficient funds. Nothing was charged.`;
    return { userId, kind: 'order-payment-failed', subject: 'Payment failed for your order', body };
  }
  if (isMessage(orderCancelled, message)) {
    const { orderId, userId, reason } = message.data;
    const body = `Your order ${orderId} was cancelled because ${CANCEL_REASONS[reason] ?? reason}.`;
    return { userId, kind: 'order-cancelled', subject: 'Your order was cancelled', body };
  }
  if (isMessage(paymentRefunded, message) && message.data.amountCents > 0) {
    const { orderId, userId, amountCents, balanceCents } = message.data;
    const body = `${money(amountCents)} for order ${orderId} was refunded to your account. Balance: ${money(balanceCents)}.`;
    return { userId, kind: 'payment-refunded', subject: 'Refund issued', body };
  }
  return undefined;
}
