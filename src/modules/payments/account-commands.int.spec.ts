import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProbe, deliver, deliverTwice, type Probe } from '../../../test/support/module-testing.js';
import { startTestKernel, type TestKernel } from '../../kernel/testing/index.js';
import { depositFunds } from './commands/deposit-funds.js';
import {
  chargePayment,
  paymentCompleted,
  paymentFailed,
  paymentRefunded,
  refundPayment,
} from './contracts.js';
import { readStream } from './event-store.js';
import { paymentsModule } from './index.js';
import { balanceOf } from './queries.js';

describe('payments handlers (charge-payment, refund-payment)', () => {
  let tk: TestKernel;
  let probe: Probe;
  const balance = async (userId = 'u1') => (await balanceOf(tk.context('payments').db, userId)).balanceCents;
  const stream = async (userId = 'u1') =>
    (await readStream(tk.context('payments').db, userId)).map((e) => e.type);
  const charge = (orderId: string, amountCents: number, userId = 'u1') =>
    chargePayment({ orderId, userId, amountCents });
  const refund = (orderId: string, userId = 'u1') => refundPayment({ orderId, userId });

  beforeEach(async () => {
    probe = createProbe([paymentCompleted, paymentFailed, paymentRefunded]);
    tk = await startTestKernel({ modules: [paymentsModule, probe.module] });
    await depositFunds(tk.context('payments'), { userId: 'u1', amountCents: 1000 });
  });
  afterEach(() => tk.dispose());

  it('charges when the balance covers the amount and replies payment-completed with the new balance', async () => {
    await deliver(tk.kernel, charge('o1', 400));
    expect(probe.dataOf(paymentCompleted)).toEqual([
      { orderId: 'o1', userId: 'u1', amountCents: 400, balanceCents: 600 },
    ]);
    expect(await balance()).toBe(600);
    expect(await stream()).toEqual(['FundsDeposited', 'PaymentCharged']);
  });

  it('refuses a charge above the balance with payment-failed and leaves the balance alone', async () => {
    await deliver(tk.kernel, charge('o1', 1001));
    expect(probe.dataOf(paymentFailed)).toEqual([
      { orderId: 'o1', userId: 'u1', amountCents: 1001, reason: 'insufficient_funds' },
    ]);
    expect(await balance()).toBe(1000);
  });

  it('handles the same charge envelope delivered twice once', async () => {
    await deliverTwice(tk.kernel, charge('o1', 300));
    expect(await balance()).toBe(700);
    expect(await stream()).toEqual(['FundsDeposited', 'PaymentCharged']);
    expect(probe.dataOf(paymentCompleted)).toHaveLength(1);
  });

  it('charges an order once: a second charge-payment replies the same outcome without charging again', async () => {
    await deliver(tk.kernel, charge('o1', 300));
    await deliver(tk.kernel, charge('o1', 300));
    expect(await balance()).toBe(700);
    const completed = { orderId: 'o1', userId: 'u1', amountCents: 300, balanceCents: 700 };
    expect(probe.dataOf(paymentCompleted)).toEqual([completed, completed]);

    await deliver(tk.kernel, charge('o2', 5000));
    await depositFunds(tk.context('payments'), { userId: 'u1', amountCents: 10_000 });
    await deliver(tk.kernel, charge('o2', 5000));
    expect(probe.dataOf(paymentFailed)).toHaveLength(2);
    expect(await balance()).toBe(10_700);
  });

  it('refunds a charge once (same envelope twice, then a second command) with the amount and the balance', async () => {
    await deliver(tk.kernel, charge('o1', 250));
    await deliverTwice(tk.kernel, refund('o1'));
    await deliver(tk.kernel, refund('o1'));
    const refunded = { orderId: 'o1', userId: 'u1', amountCents: 250, balanceCents: 1000 };
    expect(probe.dataOf(paymentRefunded)).toEqual([refunded, refunded]);
    expect(await balance()).toBe(1000);
    expect(await stream()).toEqual(['FundsDeposited', 'PaymentCharged', 'PaymentRefunded']);
  });

  it('refuses a charge for an order already refunded', async () => {
    await deliver(tk.kernel, charge('o1', 250));
    await deliver(tk.kernel, refund('o1'));
    await deliver(tk.kernel, charge('o1', 250));
    expect(probe.dataOf(paymentFailed)).toEqual([
      { orderId: 'o1', userId: 'u1', amountCents: 250, reason: 'order_closed' },
    ]);
    expect(await balance()).toBe(1000);
  });

  it('closes an order refunded before its charge (amount 0), so the late charge is refused', async () => {
    await deliverTwice(tk.kernel, refund('o1'));
    expect(probe.dataOf(paymentRefunded)).toEqual([
      { orderId: 'o1', userId: 'u1', amountCents: 0, balanceCents: 1000 },
    ]);
    await deliver(tk.kernel, charge('o1', 100));
    expect(probe.dataOf(paymentFailed)).toEqual([
      { orderId: 'o1', userId: 'u1', amountCents: 100, reason: 'order_closed' },
    ]);
    expect(probe.dataOf(paymentCompleted)).toEqual([]);
    expect(await balance()).toBe(1000);
    expect(await stream()).toEqual(['FundsDeposited', 'OrderClosed']);
  });

  it.each([
    ['keyed by user, as published', (i: number) => charge(`c${i}`, 75)],
    // distinct partition keys let the consumer run several at once (concurrency 4)
    ['with distinct partition keys', (i: number) => ({ ...charge(`c${i}`, 75), partitionkey: `k${i}` })],
  ])('never overdraws under 50 concurrent charges for one user (%s)', async (_name, draft) => {
    // 1000 covers 13 charges of 75 (975); the other 37 must fail
    await deliver(tk.kernel, ...Array.from({ length: 50 }, (_, i) => draft(i)));
    const completed = probe.dataOf<{ balanceCents: number }>(paymentCompleted);
    expect(completed).toHaveLength(13);
    expect(probe.dataOf(paymentFailed)).toHaveLength(37);
    expect(await balance()).toBe(1000 - 13 * 75);
    expect(completed.map((c) => c.balanceCents).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 13 }, (_, i) => 25 + 75 * i),
    );
    expect((await stream()).filter((type) => type === 'PaymentCharged')).toHaveLength(13);
  });

  it('keeps accounts apart', async () => {
    await deliver(tk.kernel, charge('o1', 100, 'u2'));
    expect(probe.dataOf(paymentFailed)).toEqual([
      { orderId: 'o1', userId: 'u2', amountCents: 100, reason: 'insufficient_funds' },
    ]);
    expect([await balance('u1'), await balance('u2')]).toEqual([1000, 0]);
  });
});
