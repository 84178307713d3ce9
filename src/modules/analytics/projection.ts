import { orderCancelled, orderConfirmed, orderPaymentFailed, orderPlaced } from '../orders/contracts.js';
import { paymentRefunded } from '../payments/contracts.js';

/** The summary read model (GET /analytics/summary). */
export interface Summary {
  readonly ordersPlaced: number;
  readonly ordersConfirmed: number;
  readonly ordersPaymentFailed: number;
  readonly ordersCancelled: number;
  /** Totals of confirmed orders. */
  readonly revenueCents: number;
  /** Sum of payment-refunded amounts. */
  readonly refundedCents: number;
}

export const EMPTY_SUMMARY: Summary = {
  ordersPlaced: 0,
  ordersConfirmed: 0,
  ordersPaymentFailed: 0,
  ordersCancelled: 0,
  revenueCents: 0,
  refundedCents: 0,
};

export interface LoggedEvent {
  readonly type: string;
  readonly data: unknown;
}

const amount = (data: unknown, field: 'totalCents' | 'amountCents'): number => {
  const value = (data as Record<string, unknown>)[field];
  return typeof value === 'number' ? value : 0;
};

/**
 * The projection, pure: what one event does to the summary. The live consumer and the rebuild
 * both fold events through this one function, so a rebuild from the log equals the live model.
 */
export function project(summary: Summary, event: LoggedEvent): Summary {
  switch (event.type) {
    case orderPlaced.type:
      return { ...summary, ordersPlaced: summary.ordersPlaced + 1 };
    case orderConfirmed.type:
      return {
        ...summary,
        ordersConfirmed: summary.ordersConfirmed + 1,
        revenueCents: summary.revenueCents + amount(event.data, 'totalCents'),
      };
    case orderPaymentFailed.type:
      return { ...summary, ordersPaymentFailed: summary.ordersPaymentFailed + 1 };
    case orderCancelled.type:
      return { ...summary, ordersCancelled: summary.ordersCancelled + 1 };
    case paymentRefunded.type:
      return { ...summary, refundedCents: summary.refundedCents + amount(event.data, 'amountCents') };
    default:
      return summary; // logged (a future read model may use it), no effect on the summary
  }
}
