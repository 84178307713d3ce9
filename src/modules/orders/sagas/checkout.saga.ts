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
import type { CancelReason, CheckoutState, CompensationReply } from './checkout-state.js';
import { finishOrder } from './finish-order.js';

/**
 * The checkout saga (CONTRACT section 4), pure: order-placed → charge-payment → payment-completed
 * → reserve-stock → stock-reserved → completed. payment-failed → compensated (its reason, e.g.
 * insufficient_funds; nothing to undo). out-of-stock → refund-payment → payment-refunded → compensated (out_of_stock).
 * A step timeout undoes the current step too (its effect is unknown) and waits for the reply of
 * every compensation sent; a timeout while compensating gives up waiting (failed,
 * compensation_timeout: the compensations stay queued and idempotent), and the order is cancelled.
 */

const STEP_PAYMENT = 'payment';
const REFUNDED: CompensationReply = 'payments.payment-refunded';
const RELEASED: CompensationReply = 'inventory.stock-released';
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
    charged: false,
    paymentFailure: null,
    cancelReason: null,
    awaiting: [],
  };
}

function cancel(state: CheckoutState, reason: CancelReason, awaiting: CompensationReply[]): CheckoutState {
  return state.cancelReason === null ? { ...state, cancelReason: reason, awaiting } : state;
}

function evolve(state: CheckoutState, message: Envelope): CheckoutState {
  if (isMessage(paymentCompleted, message)) return { ...state, charged: true };
  if (isMessage(paymentFailed, message) && state.cancelReason === null && !state.charged) {
    return { ...state, paymentFailure: message.data.reason };
  }
  if (isMessage(outOfStock, message)) return cancel(state, 'out_of_stock', [REFUNDED]);
  if (message.type === SAGA_STEP_TIMED_OUT) {
    const awaiting = state.charged ? [RELEASED, REFUNDED] : [REFUNDED];
    return cancel(state, 'timeout', awaiting);
  }
  if (
    state.cancelReason !== null &&
    (isMessage(paymentRefunded, message) || isMessage(stockReleased, message))
  ) {
    return { ...state, awaiting: state.awaiting.filter((type) => type !== message.type) };
  }
  return state;
}

function decideCompensating(message: Envelope, state: CheckoutState): SagaDecision {
  if (message.type === SAGA_STEP_TIMED_OUT) return finish('failed', 'compensation_timeout');
  const isReply = isMessage(paymentRefunded, message) || isMessage(stockReleased, message);
  return isReply && state.awaiting.length === 0 ? finish('compensated') : ignore();
}

function decide(message: Envelope, state: CheckoutState, progress: SagaProgress): SagaDecision {
  const ref = { orderId: state.orderId, userId: state.userId };
  if (isMessage(orderPlaced, message)) {
    return nextStep(STEP_PAYMENT, {
      send: [chargePayment({ ...ref, amountCents: state.totalCents })],
      compensation: [undo(refundPayment(ref), paymentRefunded)],
    });
  }
  if (progress.status === 'compensating') return decideCompensating(message, state);
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
  initialState,
  evolve,
  decide,
  onFinish: finishOrder,
});
