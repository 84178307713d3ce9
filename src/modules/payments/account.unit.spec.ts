import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Account,
  type AccountEvent,
  decideCharge,
  decideDeposit,
  decideRefund,
  emptyAccount,
  evolve,
  type OrderPayment,
  orderPaymentsAfter,
  replay,
} from './account.js';

/** The account and its orders' payments, as the event store keeps them. */
interface Ledger {
  readonly account: Account;
  readonly payments: ReadonlyMap<string, OrderPayment>;
}

const opened = (): Ledger => ({ account: emptyAccount('u'), payments: new Map() });

function apply(ledger: Ledger, events: readonly AccountEvent[]): Ledger {
  const payments = new Map(ledger.payments);
  for (const [orderId, payment] of orderPaymentsAfter(ledger.account, events)) payments.set(orderId, payment);
  return { account: evolve(ledger.account, events), payments };
}

const deposit = (l: Ledger, amount: number) => decideDeposit(l.account, amount);
const charge = (l: Ledger, order: string, amount: number) =>
  decideCharge(l.account, l.payments.get(order), order, amount);
const refund = (l: Ledger, order: string) => decideRefund(l.payments.get(order), order);

describe('the payment account (pure)', () => {
  it('charges when the balance covers the amount, else fails without touching the balance', () => {
    const funded = apply(opened(), deposit(opened(), 100));
    expect(charge(funded, 'o1', 100)).toEqual([
      { type: 'PaymentCharged', data: { orderId: 'o1', amountCents: 100 } },
    ]);
    expect(charge(funded, 'o1', 101)).toEqual([
      { type: 'PaymentFailed', data: { orderId: 'o1', amountCents: 101, reason: 'insufficient_funds' } },
    ]);
    const failed = apply(funded, charge(funded, 'o1', 101));
    expect(failed.account).toMatchObject({ balanceCents: 100, version: 2 });
    expect(failed.payments.get('o1')).toEqual({
      status: 'failed',
      amountCents: 101,
      reason: 'insufficient_funds',
      balanceCents: 100,
    });
  });

  it('decides each order once: later charges and refunds change nothing', () => {
    let ledger = apply(opened(), deposit(opened(), 500));
    ledger = apply(ledger, charge(ledger, 'o1', 200));
    expect(ledger.payments.get('o1')).toEqual({ status: 'charged', amountCents: 200, balanceCents: 300 });
    expect(charge(ledger, 'o1', 200)).toEqual([]);
    ledger = apply(ledger, refund(ledger, 'o1'));
    expect(ledger.account).toMatchObject({ balanceCents: 500, version: 3 });
    expect(ledger.payments.get('o1')).toEqual({ status: 'refunded', amountCents: 200, balanceCents: 500 });
    expect(refund(ledger, 'o1')).toEqual([]);
    expect(charge(ledger, 'o1', 200)).toEqual([]);
  });

  it('closes an order refunded before any charge', () => {
    const closed = apply(opened(), refund(opened(), 'o1'));
    expect(closed.payments.get('o1')).toEqual({ status: 'closed', balanceCents: 0 });
    expect(charge(closed, 'o1', 1)).toEqual([]);
    expect(refund(closed, 'o1')).toEqual([]);
  });

  it('keeps a state that does not grow with the orders: balance and version only', () => {
    let ledger = apply(opened(), deposit(opened(), 10_000));
    for (let i = 0; i < 50; i++) ledger = apply(ledger, charge(ledger, `o${i}`, 10));
    expect(ledger.account).toEqual({ id: 'u', balanceCents: 9_500, version: 51 });
    expect(ledger.payments.size).toBe(50);
  });

  it('never overdraws, charges an order at most once, and replays to the same state and payments', () => {
    const command = fc.oneof(
      fc.record({ kind: fc.constant('deposit' as const), amount: fc.integer({ min: 1, max: 1000 }) }),
      fc.record({
        kind: fc.constant('charge' as const),
        order: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
        amount: fc.integer({ min: 1, max: 1000 }),
      }),
      fc.record({ kind: fc.constant('refund' as const), order: fc.constantFrom('a', 'b', 'c', 'd', 'e') }),
    );
    fc.assert(
      fc.property(fc.array(command, { maxLength: 60 }), (commands) => {
        let ledger = opened();
        const stream: AccountEvent[] = [];
        for (const c of commands) {
          const events =
            c.kind === 'deposit'
              ? deposit(ledger, c.amount)
              : c.kind === 'charge'
                ? charge(ledger, c.order, c.amount)
                : refund(ledger, c.order);
          ledger = apply(ledger, events);
          stream.push(...events);
          expect(ledger.account.balanceCents).toBeGreaterThanOrEqual(0);
        }
        const sum = (type: AccountEvent['type']) =>
          stream
            .filter((e) => e.type === type)
            .reduce((s, e) => s + ('amountCents' in e.data ? e.data.amountCents : 0), 0);
        expect(ledger.account.balanceCents).toBe(
          sum('FundsDeposited') - sum('PaymentCharged') + sum('PaymentRefunded'),
        );
        const charged = stream.flatMap((e) => (e.type === 'PaymentCharged' ? [e.data.orderId] : []));
        expect(new Set(charged).size).toBe(charged.length);
        expect(replay('u', stream)).toEqual(ledger.account);
        // the payments the store records along the way are the fold of the whole stream
        expect(orderPaymentsAfter(emptyAccount('u'), stream)).toEqual(ledger.payments);
        expect(ledger.account.version).toBe(stream.length);
      }),
    );
  });
});
