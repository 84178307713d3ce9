/**
 * The state of one `orders.checkout` instance (persisted by the kernel as JSON): the order, and
 * why it ended early when it did. What the saga sent and awaits is the kernel's (its instance).
 */

export type CancelReason = 'out_of_stock' | 'timeout';

export interface CheckoutState {
  readonly orderId: string;
  readonly userId: string;
  readonly totalCents: number;
  readonly items: readonly { readonly sku: string; readonly quantity: number }[];
  /** Why payments refused the charge (payment-failed), when it did: the order then ends payment_failed. */
  readonly paymentFailure: string | null;
  readonly cancelReason: CancelReason | null;
}
