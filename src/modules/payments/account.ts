/**
 * The payment account as an event-sourced aggregate: pure functions, no I/O. State is the
 * replay (left fold) of the account's events, from the empty account or from a snapshot;
 * decisions return the events to append.
 */

export type FailureReason = 'insufficient_funds' | 'order_closed';

export type AccountEvent =
  | { readonly type: 'FundsDeposited'; readonly data: { readonly amountCents: number } }
  | {
      readonly type: 'PaymentCharged';
      readonly data: { readonly orderId: string; readonly amountCents: number };
    }
  | {
      readonly type: 'PaymentFailed';
      readonly data: {
        readonly orderId: string;
        readonly amountCents: number;
        readonly reason: FailureReason;
      };
    }
  | {
      readonly type: 'PaymentRefunded';
      readonly data: { readonly orderId: string; readonly amountCents: number };
    }
  /** A refund for an order that was never charged: the order is closed, a late charge is refused. */
  | { readonly type: 'OrderClosed'; readonly data: { readonly orderId: string } };

export type AccountEventType = AccountEvent['type'];
export const ACCOUNT_EVENT_TYPES: readonly AccountEventType[] = [
  'FundsDeposited',
  'PaymentCharged',
  'PaymentFailed',
  'PaymentRefunded',
  'OrderClosed',
];

/** What happened to one order's payment, with the balance right after it happened. */
export type OrderPayment =
  | { readonly status: 'charged' | 'refunded'; readonly amountCents: number; readonly balanceCents: number }
  | {
      readonly status: 'failed';
      readonly amountCents: number;
      readonly reason: FailureReason;
      readonly balanceCents: number;
    }
  | { readonly status: 'closed'; readonly balanceCents: number };

export interface Account {
  readonly id: string;
  readonly balanceCents: number;
  /** Number of events applied (0 for an account with none). */
  readonly version: number;
  readonly orders: ReadonlyMap<string, OrderPayment>;
}

export const emptyAccount = (id: string): Account => ({ id, balanceCents: 0, version: 0, orders: new Map() });

interface MutableAccount {
  id: string;
  balanceCents: number;
  version: number;
  orders: Map<string, OrderPayment>;
}

/** Applies one event in place (replay folds a whole stream into one state without copying it). */
function apply(state: MutableAccount, event: AccountEvent): void {
  state.version += 1;
  switch (event.type) {
    case 'FundsDeposited':
      state.balanceCents += event.data.amountCents;
      return;
    case 'PaymentCharged':
      state.balanceCents -= event.data.amountCents;
      state.orders.set(event.data.orderId, {
        status: 'charged',
        amountCents: event.data.amountCents,
        balanceCents: state.balanceCents,
      });
      return;
    case 'PaymentRefunded':
      state.balanceCents += event.data.amountCents;
      state.orders.set(event.data.orderId, {
        status: 'refunded',
        amountCents: event.data.amountCents,
        balanceCents: state.balanceCents,
      });
      return;
    case 'PaymentFailed': {
      const { orderId, ...failure } = event.data;
      state.orders.set(orderId, { status: 'failed', ...failure, balanceCents: state.balanceCents });
      return;
    }
    case 'OrderClosed':
      state.orders.set(event.data.orderId, { status: 'closed', balanceCents: state.balanceCents });
      return;
  }
}

/** The account after `events`, applied in order; `account` itself is left unchanged. */
export function evolve(account: Account, events: readonly AccountEvent[]): Account {
  const next: MutableAccount = { ...account, orders: new Map(account.orders) };
  for (const event of events) apply(next, event);
  return next;
}

/** The state of an account: the left fold of its events from the empty account. */
export function replay(id: string, events: readonly AccountEvent[]): Account {
  return evolve(emptyAccount(id), events);
}

export function decideDeposit(_account: Account, amountCents: number): AccountEvent[] {
  return [{ type: 'FundsDeposited', data: { amountCents } }];
}

/**
 * A charge: the first one for an order is decided (charged when the balance covers it, else
 * failed, so the balance never goes below zero); any later one changes nothing, and its reply is
 * the recorded outcome. An order refunded or closed before its charge is refused.
 */
export function decideCharge(account: Account, orderId: string, amountCents: number): AccountEvent[] {
  if (account.orders.has(orderId)) return [];
  if (account.balanceCents < amountCents) {
    return [{ type: 'PaymentFailed', data: { orderId, amountCents, reason: 'insufficient_funds' } }];
  }
  return [{ type: 'PaymentCharged', data: { orderId, amountCents } }];
}

/** A refund: gives back the order's charge, or closes an order that was never charged. Once only. */
export function decideRefund(account: Account, orderId: string): AccountEvent[] {
  const payment = account.orders.get(orderId);
  if (payment?.status === 'charged') {
    return [{ type: 'PaymentRefunded', data: { orderId, amountCents: payment.amountCents } }];
  }
  if (payment?.status === 'refunded' || payment?.status === 'closed') return [];
  return [{ type: 'OrderClosed', data: { orderId } }];
}
