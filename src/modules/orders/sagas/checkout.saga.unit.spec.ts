import { describe, expect, it } from 'vitest';
import type { SagaInstance } from '../../../kernel/index.js';
import { STEP_TIMEOUT, sagaSpec } from '../../../kernel/testing/index.js';
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
import { orderCancelled, orderConfirmed, orderPaymentFailed, orderPlaced } from '../contracts.js';
import { checkoutSaga } from './checkout.saga.js';
import type { CheckoutState } from './checkout-state.js';
import { outcomeOf } from './finish-order.js';

const ref = { orderId: 'o1', userId: 'u1' };
const placed = orderPlaced({ ...ref, totalCents: 700, items: [{ sku: 'A', quantity: 2, priceCents: 350 }] });
const completed = paymentCompleted({ ...ref, amountCents: 700, balanceCents: 300 });
const failed = paymentFailed({ ...ref, amountCents: 700, reason: 'insufficient_funds' });
const reserved = stockReserved({ ...ref, items: [{ sku: 'A', quantity: 2 }] });
const short = outOfStock({ ...ref, skus: ['A'] });
const refunded = paymentRefunded({ ...ref, amountCents: 700, balanceCents: 1000 });
const released = stockReleased({ ...ref, items: [{ sku: 'A', quantity: 2 }] });

const spec = sagaSpec(checkoutSaga);
const stateOf = (instance: SagaInstance<unknown> | undefined) => instance?.state as CheckoutState;

describe('orders.checkout saga (given/when/then)', () => {
  it('charges the order total first, with a refund as its compensation', () => {
    const { instance, sent } = spec.given().when(placed);
    expect(instance).toMatchObject({ id: 'o1', status: 'running', step: 'payment' });
    expect(sent).toEqual([chargePayment({ ...ref, amountCents: 700 })]);
    expect(instance?.steps[0]?.compensation).toEqual([
      { message: refundPayment(ref), awaitsReply: paymentRefunded.type },
    ]);
  });

  it('reserves the stock once paid, with a release as its compensation', () => {
    const { instance, sent } = spec.given(placed).when(completed);
    expect(instance).toMatchObject({ status: 'running', step: 'stock' });
    expect(sent).toEqual([reserveStock({ ...ref, items: [{ sku: 'A', quantity: 2 }] })]);
    expect(instance?.steps[1]?.compensation).toEqual([
      { message: releaseStock(ref), awaitsReply: stockReleased.type },
    ]);
  });

  it('completes when the stock is reserved', () => {
    const { instance, sentTypes } = spec.given(placed, completed).when(reserved);
    expect(instance).toMatchObject({ status: 'completed', deadline: null, reason: null });
    expect(sentTypes).toEqual([]);
  });

  it('ends at once on payment-failed: nothing was done, nothing to undo', () => {
    const { instance, sentTypes } = spec.given(placed).when(failed);
    expect(instance).toMatchObject({ status: 'compensated', reason: 'insufficient_funds' });
    expect(sentTypes).toEqual([]);
  });

  it('refunds on out-of-stock (nothing was reserved, so no release), then ends on the refund', () => {
    const oos = spec.given(placed, completed).when(short);
    expect(oos.instance).toMatchObject({ status: 'compensating', reason: 'out_of_stock' });
    expect(oos.sentTypes).toEqual([refundPayment.type]);
    expect(oos.instance?.awaiting).toEqual([paymentRefunded.type]);
    const done = spec.given(placed, completed, short).when(refunded);
    expect(done.instance).toMatchObject({ status: 'compensated', reason: 'out_of_stock', deadline: null });
    expect(done.sentTypes).toEqual([]);
  });

  it('on a timeout of the payment step, refunds whatever may have been charged and waits for it', () => {
    const timedOut = spec.given(placed).when(STEP_TIMEOUT);
    expect(timedOut.instance).toMatchObject({ status: 'compensating', reason: 'timeout' });
    expect(timedOut.sentTypes).toEqual([refundPayment.type]);
    expect(timedOut.instance?.awaiting).toEqual([paymentRefunded.type]);
    const done = spec.given(placed, STEP_TIMEOUT).when(refunded);
    expect(done.instance).toMatchObject({ status: 'compensated', reason: 'timeout' });
  });

  it('on a timeout of the stock step, releases the stock and refunds, and waits for both replies', () => {
    const timedOut = spec.given(placed, completed).when(STEP_TIMEOUT);
    expect(timedOut.sentTypes).toEqual([releaseStock.type, refundPayment.type]);
    expect(timedOut.instance?.awaiting).toEqual([stockReleased.type, paymentRefunded.type]);
    const half = spec.given(placed, completed, STEP_TIMEOUT).when(refunded);
    expect(half.instance).toMatchObject({ status: 'compensating', awaiting: [stockReleased.type] });
    expect(spec.given(placed, completed, STEP_TIMEOUT, refunded).when(released).instance).toMatchObject({
      status: 'compensated',
      reason: 'timeout',
    });
    expect(spec.given(placed, completed, STEP_TIMEOUT, released).when(refunded).instance?.status).toBe(
      'compensated',
    );
  });

  it('gives up waiting when a compensation times out, keeping the reason of the cancellation', () => {
    const { instance } = spec.given(placed, completed, short).when(STEP_TIMEOUT);
    expect(instance).toMatchObject({ status: 'failed', reason: 'compensation_timeout' });
    expect(stateOf(instance).cancelReason).toBe('out_of_stock');
  });

  it('keeps a late payment-failed from turning a timed-out order into a payment failure', () => {
    const { instance } = spec.given(placed, STEP_TIMEOUT, failed).when(refunded);
    expect(instance).toMatchObject({ status: 'compensated', reason: 'timeout' });
    expect(outcomeOf(instance as SagaInstance<CheckoutState>).status).toBe('cancelled');
  });

  it('waits for the release even when the refund is repeated, and fails naming it on a timeout', () => {
    const twice = spec.given(placed, completed, STEP_TIMEOUT, refunded).when(refunded);
    expect(twice.instance).toMatchObject({ status: 'compensating', awaiting: [stockReleased.type] });
    const { instance } = spec.given(placed, completed, STEP_TIMEOUT, refunded).when(STEP_TIMEOUT);
    expect(instance).toMatchObject({ status: 'failed', reason: 'compensation_timeout' });
    expect(instance?.awaiting).toEqual([stockReleased.type]);
    expect(outcomeOf(instance as SagaInstance<CheckoutState>)).toMatchObject({
      status: 'cancelled',
      reason: 'timeout',
    });
  });

  it('keeps a payment-failed after the charge from turning the order into a payment failure', () => {
    const { instance } = spec.given(placed, completed, failed, short).when(refunded);
    expect(instance).toMatchObject({ status: 'compensated', reason: 'out_of_stock' });
    expect(stateOf(instance).paymentFailure).toBeNull();
    expect(outcomeOf(instance as SagaInstance<CheckoutState>).status).toBe('cancelled');
  });

  it('holds order data and the outcome facts only: what it awaits is the kernel’s', () => {
    const { instance } = spec.given(placed, completed).when(STEP_TIMEOUT);
    expect(stateOf(instance)).toEqual({
      orderId: 'o1',
      userId: 'u1',
      totalCents: 700,
      items: [{ sku: 'A', quantity: 2 }],
      paymentFailure: null,
      cancelReason: 'timeout',
    });
  });

  it('ignores late replies while compensating', () => {
    const lateCharge = spec.given(placed, STEP_TIMEOUT).when(completed);
    expect(lateCharge.instance?.status).toBe('compensating');
    expect(lateCharge.sentTypes).toEqual([]);
    expect(lateCharge.instance?.awaiting).toEqual([paymentRefunded.type]);
    const lateShort = spec.given(placed, completed, STEP_TIMEOUT).when(short);
    expect(lateShort.instance?.status).toBe('compensating');
    expect(stateOf(lateShort.instance).cancelReason).toBe('timeout');
  });

  it('ignores replies that do not belong to the current step', () => {
    const early = spec.given(placed).when(reserved);
    expect(early.instance).toMatchObject({ status: 'running', step: 'payment' });
    expect(early.sentTypes).toEqual([]);
    const repeated = spec.given(placed, completed).when(completed);
    expect(repeated.instance?.step).toBe('stock');
    expect(repeated.sentTypes).toEqual([]);
  });

  it('ignores everything once finished', () => {
    for (const late of [refunded, short, failed, STEP_TIMEOUT] as const) {
      const { instance, sentTypes } = spec.given(placed, completed, reserved).when(late);
      expect(instance?.status).toBe('completed');
      expect(sentTypes).toEqual([]);
    }
  });
});

describe('the outcome of a finished checkout', () => {
  const finished = (...history: Parameters<ReturnType<typeof spec.given>['when']>[0][]) => {
    const last = history.pop();
    if (last === undefined) throw new Error('empty history');
    const { instance } = spec.given(...history).when(last);
    return outcomeOf(instance as SagaInstance<CheckoutState>);
  };
  const total = { orderId: 'o1', userId: 'u1', totalCents: 700 };

  it('maps each terminal saga to exactly one order status and outcome event', () => {
    expect(finished(placed, completed, reserved)).toEqual({
      status: 'confirmed',
      reason: null,
      event: orderConfirmed(total),
    });
    expect(finished(placed, failed)).toMatchObject({
      status: 'payment_failed',
      event: orderPaymentFailed({ ...total, reason: 'insufficient_funds' }),
    });
    expect(finished(placed, completed, short, refunded)).toMatchObject({
      status: 'cancelled',
      reason: 'out_of_stock',
      event: orderCancelled({ ...total, reason: 'out_of_stock' }),
    });
    expect(finished(placed, completed, STEP_TIMEOUT, released, refunded)).toMatchObject({
      status: 'cancelled',
      event: orderCancelled({ ...total, reason: 'timeout' }),
    });
    expect(finished(placed, STEP_TIMEOUT, STEP_TIMEOUT)).toMatchObject({
      status: 'cancelled',
      reason: 'timeout',
    });
  });
});
