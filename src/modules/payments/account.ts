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

/**
 * The account's state: its balance and version, and nothing that grows with its history. What
 * happened to each order is decided from that order's payment (`orderPaymentsAfter`), which the
 * event store keeps, indexed, next to the stream.
 */
export interface Account {
  readonly id: string;
  readonly balanceCents: number;
  /** Number of events applied (0 for an account with none). */
  readonly version: number;
}

export const emptyAccount = (id: string): Account => ({ id, balanceCents: 0, version: 0 });

/** The balance change an event makes. */
function balanceChange(event: AccountEvent): number {
  switch (event.type) {
    case 'FundsDeposited':
    case 'PaymentRefunded':
      return event.data.amountCents;
    case 'PaymentCharged':
      return -event.data.amountCents;
    case 'PaymentFailed':
    case 'OrderClosed':
      return 0;
  }
}

/** The order's payment after the event, given the balance right after it; undefined for a deposit. */
function orderPaymentOf(event: AccountEvent, balanceCents: number): [string, OrderPayment] | undefined {
  switch (event.type) {
    case 'FundsDeposited':
      return undefined;
    case 'PaymentCharged':
    case 'PaymentRefunded': {
      const status = event.type === 'PaymentCharged' ? 'charged' : 'refunded';
      return [event.data.orderId, { status, amountCents: event.data.amountCents, balanceCents }];
    }
    case 'PaymentFailed': {
      const { orderId, ...failure } = event.data;
      return [orderId, { status: 'failed', ...failure, balanceCents }];
    }
    case 'OrderClosed':
      return [event.data.orderId, { status: 'closed', balanceCents }];
  }
}

/** The account after `events`, applied in order. */
export function evolve(account: Account, events: readonly AccountEvent[]): Account {
  let { balanceCents, version } = account;
  for (const event of events) {
    balanceCents += balanceChange(event);
    version += 1;
  }
  return { id: account.id, balanceCents, version };
}

/** The state of an account: the left fold of its events from the empty account. */
export function replay(id: string, events: readonly AccountEvent[]): Account {
  return evolve(emptyAccount(id), events);
}

/**
 * The payment of each order that `events` name, as it stands after them (applied to `account`):
 * what the event store records for those orders, and what a reply reports.
 */
export function orderPaymentsAfter(
  account: Account,
  events: readonly AccountEvent[],
): Map<string, OrderPayment> {
  const payments = new Map<string, OrderPayment>();
  let { balanceCents } = account;
  for (const event of events) {
    balanceCents += balanceChange(event);
    const payment = orderPaymentOf(event, balanceCents);
    if (payment) payments.set(...payment);
  }
  return payments;
}

export function decideDeposit(_account: Account, amountCents: number): AccountEvent[] {
  return [{ type: 'FundsDeposited', data: { amountCents } }];
}

/**
 * A charge, given the order's payment so far: the first one for an order is decided (charged
 * when the balance covers it, else failed, so the balance never goes below zero); any later one
 * changes nothing, and its reply is the recorded outcome. An order refunded or closed before its
 * charge is refused.
 */
export function decideCharge(
  account: Account,
  payment: OrderPayment | undefined,
  orderId: string,
  amountCents: number,
): AccountEvent[] {
  if (payment) return [];
  if (account.balanceCents < amountCents) {
    return [{ type: 'PaymentFailed', data: { orderId, amountCents, reason: 'insufficient_funds' } }];
  }
  return [{ type: 'PaymentCharged', data: { orderId, amountCents } }];
}

/** A refund: gives back the order's charge, or closes an order that was never charged. Once only. */
export function decideRefund(payment: OrderPayment | undefined, orderId: string): AccountEvent[] {
  if (payment?.status === 'charged') {
    return [{ type: 'PaymentRefunded', data: { orderId, amountCents: payment.amountCents } }];
  }
  if (payment?.status === 'refunded' || payment?.status === 'closed') return [];
  return [{ type: 'OrderClosed', data: { orderId } }];
}
