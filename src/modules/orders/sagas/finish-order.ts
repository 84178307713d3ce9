import { and, eq } from 'drizzle-orm';
import type { MessageDraft, SagaInstance, Tx } from '../../../kernel/index.js';
import { orderCancelled, orderConfirmed, orderPaymentFailed } from '../contracts.js';
import { type OrderStatus, ordersOrders } from '../schema.js';
import type { CheckoutState } from './checkout-state.js';

interface Outcome {
  readonly status: Exclude<OrderStatus, 'pending'>;
  readonly reason: string | null;
  readonly event: MessageDraft;
}

/** The order's terminal status and outcome event for a finished checkout. */
export function outcomeOf(instance: SagaInstance<CheckoutState>): Outcome {
  const { orderId, userId, totalCents, cancelReason, paymentFailure } = instance.state;
  const ref = { orderId, userId, totalCents };
  if (instance.status === 'completed') {
    return { status: 'confirmed', reason: null, event: orderConfirmed(ref) };
  }
  if (paymentFailure !== null) {
    const reason = paymentFailure;
    return { status: 'payment_failed', reason, event: orderPaymentFailed({ ...ref, reason }) };
  }
  const reason = cancelReason ?? 'timeout';
  return { status: 'cancelled', reason, event: orderCancelled({ ...ref, reason }) };
}

/**
 * The saga's `onFinish`, in the transaction that finishes the instance: the order leaves
 * `pending` (once: a terminal order is never changed again) and its outcome event is staged.
 */
export async function finishOrder(tx: Tx, instance: SagaInstance<CheckoutState>): Promise<void> {
  const outcome = outcomeOf(instance);
  // The rows it changed, as `.returning()` (the same on both backends; a run's count is not).
  const changed = await tx.db
    .update(ordersOrders)
    .set({ status: outcome.status, reason: outcome.reason, updatedAt: Date.now() })
    .where(and(eq(ordersOrders.id, instance.state.orderId), eq(ordersOrders.status, 'pending')))
    .returning({ id: ordersOrders.id });
  if (changed.length === 1) await tx.stage(outcome.event);
}
