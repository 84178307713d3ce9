import {
  compensate,
  defineSaga,
  type Envelope,
  finish,
  ignore,
  isMessage,
  nextStep,
  SAGA_STEP_TIMED_OUT,
  type SagaDecision,
  type SagaProgress,
  undo,
} from '../../../kernel/index.js';
import {
  outOfStock,
  releaseStock,
  reserveStock,
  stockReleased,
  stockReserved,
} from '../../inventory/contracts.js';
import {
  chargePayment,
  paymentCompleted,
  paymentFailed,
  paymentRefunded,
  refundPayment,
} from '../../payments/contracts.js';
import { orderPlaced } from '../contracts.js';
import type { CheckoutState } from './checkout-state.js';
import { finishOrder } from './finish-order.js';

/**
 * The checkout saga (CONTRACT section 4), pure: order-placed → charge-payment → payment-completed
 * → reserve-stock → stock-reserved → completed. payment-failed → compensated (its reason, e.g.
 * insufficient_funds; nothing to undo). out-of-stock → refund-payment → payment-refunded → compensated (out_of_stock).
 * A step timeout undoes the current step too (its effect is unknown). Each compensation names its
 * reply (refund-payment → payment-refunded, release-stock → stock-released): the kernel waits for
 * every one sent, and a timeout while compensating gives up waiting (failed, compensation_timeout:
 * the compensations stay queued and idempotent); the order is cancelled either way.
 */

const STEP_PAYMENT = 'payment';
const STEP_STOCK = 'stock';

function orderIdOf(message: Envelope): string {
  const data = message.data as { orderId?: unknown; id?: unknown };
  return String(data.orderId ?? data.id);
}

function initialState(message: Envelope): CheckoutState {
  if (!isMessage(orderPlaced, message)) throw new Error(`checkout cannot start on ${message.type}`);
  const { orderId, userId, totalCents, items } = message.data;
  return {
    orderId,
    userId,
    totalCents,
    items: items.map(({ sku, quantity }) => ({ sku, quantity })),
    paymentFailure: null,
    cancelReason: null,
  };
}

/**
 * Records why the order ends early, under the same conditions `decide` compensates for it: only
 * a running flow's answer to its current step counts, so a late payment-failed (after a charge or
 * a timeout) or out-of-stock never changes an outcome already under way.
 */
function evolve(state: CheckoutState, message: Envelope, progress: SagaProgress): CheckoutState {
  if (progress.status !== 'running') return state;
  if (message.type === SAGA_STEP_TIMED_OUT) return { ...state, cancelReason: 'timeout' };
  if (progress.step === STEP_PAYMENT && isMessage(paymentFailed, message)) {
    return { ...state, paymentFailure: message.data.reason };
  }
  if (progress.step === STEP_STOCK && isMessage(outOfStock, message)) {
    return { ...state, cancelReason: 'out_of_stock' };
  }
  return state;
}

/** Asked while running only: once compensating, the kernel waits for the replies itself. */
function decide(message: Envelope, state: CheckoutState, progress: SagaProgress): SagaDecision {
  const ref = { orderId: state.orderId, userId: state.userId };
  if (isMessage(orderPlaced, message)) {
    return nextStep(STEP_PAYMENT, {
      send: [chargePayment({ ...ref, amountCents: state.totalCents })],
      compensation: [undo(refundPayment(ref), paymentRefunded)],
    });
  }
  if (message.type === SAGA_STEP_TIMED_OUT) return compensate('timeout', { includeCurrentStep: true });
  if (progress.step === STEP_PAYMENT) {
    if (isMessage(paymentCompleted, message)) {
      return nextStep(STEP_STOCK, {
        send: [reserveStock({ ...ref, items: [...state.items] })],
        compensation: [undo(releaseStock(ref), stockReleased)],
      });
    }
    if (isMessage(paymentFailed, message)) return compensate(message.data.reason);
  }
  if (progress.step === STEP_STOCK) {
    if (isMessage(stockReserved, message)) return finish('completed');
    if (isMessage(outOfStock, message)) return compensate('out_of_stock');
  }
  return ignore(); // a late or repeated reply
}

export const checkoutSaga = defineSaga<CheckoutState>({
  name: 'orders.checkout',
  startedBy: [orderPlaced],
  handles: [paymentCompleted, paymentFailed, paymentRefunded, stockReserved, outOfStock, stockReleased],
  correlate: orderIdOf,
  timeline: (orderId) => `/orders/${encodeURIComponent(orderId)}/timeline`,
  initialState,
  evolve,
  decide,
  onFinish: finishOrder,
});
