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
  replay,
} from './account.js';

const apply = (account: Account, events: AccountEvent[]) => evolve(account, events);

describe('the payment account (pure)', () => {
  it('charges when the balance covers the amount, else fails without touching the balance', () => {
    const funded = apply(emptyAccount('u'), decideDeposit(emptyAccount('u'), 100));
    expect(decideCharge(funded, 'o1', 100)).toEqual([
      { type: 'PaymentCharged', data: { orderId: 'o1', amountCents: 100 } },
    ]);
    expect(decideCharge(funded, 'o1', 101)).toEqual([
      { type: 'PaymentFailed', data: { orderId: 'o1', amountCents: 101, reason: 'insufficient_funds' } },
    ]);
    const failed = apply(funded, decideCharge(funded, 'o1', 101));
    expect(failed).toMatchObject({ balanceCents: 100, version: 2 });
    expect(failed.orders.get('o1')).toEqual({
      status: 'failed',
      amountCents: 101,
      reason: 'insufficient_funds',
      balanceCents: 100,
    });
  });

  it('decides each order once: later charges and refunds change nothing', () => {
    let account = apply(emptyAccount('u'), decideDeposit(emptyAccount('u'), 500));
    account = apply(account, decideCharge(account, 'o1', 200));
    expect(account.orders.get('o1')).toEqual({ status: 'charged', amountCents: 200, balanceCents: 300 });
    expect(decideCharge(account, 'o1', 200)).toEqual([]);
    account = apply(account, decideRefund(account, 'o1'));
    expect(account).toMatchObject({ balanceCents: 500, version: 3 });
    expect(account.orders.get('o1')).toEqual({ status: 'refunded', amountCents: 200, balanceCents: 500 });
    expect(decideRefund(account, 'o1')).toEqual([]);
    expect(decideCharge(account, 'o1', 200)).toEqual([]);
  });

  it('closes an order refunded before any charge', () => {
    const closed = apply(emptyAccount('u'), decideRefund(emptyAccount('u'), 'o1'));
    expect(closed.orders.get('o1')).toEqual({ status: 'closed', balanceCents: 0 });
    expect(decideCharge(closed, 'o1', 1)).toEqual([]);
    expect(decideRefund(closed, 'o1')).toEqual([]);
  });

  it('never overdraws, charges an order at most once, and replays to the same state', () => {
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
        let account = emptyAccount('u');
        const stream: AccountEvent[] = [];
        for (const c of commands) {
          const events =
            c.kind === 'deposit'
              ? decideDeposit(account, c.amount)
              : c.kind === 'charge'
                ? decideCharge(account, c.order, c.amount)
                : decideRefund(account, c.order);
          account = apply(account, events);
          stream.push(...events);
          expect(account.balanceCents).toBeGreaterThanOrEqual(0);
        }
        const sum = (type: AccountEvent['type']) =>
          stream
            .filter((e) => e.type === type)
            .reduce((s, e) => s + ('amountCents' in e.data ? e.data.amountCents : 0), 0);
        expect(account.balanceCents).toBe(
          sum('FundsDeposited') - sum('PaymentCharged') + sum('PaymentRefunded'),
        );
        const charged = stream.flatMap((e) => (e.type === 'PaymentCharged' ? [e.data.orderId] : []));
        expect(new Set(charged).size).toBe(charged.length);
        expect(replay('u', stream)).toEqual(account);
        expect(account.version).toBe(stream.length);
      }),
    );
  });
});
