/** The state of one `orders.checkout` instance (persisted by the kernel as JSON). */

export type CancelReason = 'out_of_stock' | 'timeout';

/** Types of the replies to the saga's compensations. */
export type CompensationReply = 'payments.payment-refunded' | 'inventory.stock-released';

export interface CheckoutState {
  readonly orderId: string;
  readonly userId: string;
  readonly totalCents: number;
  readonly items: readonly { readonly sku: string; readonly quantity: number }[];
  /** payment-completed was seen: a timeout from here on must also release the stock. */
  readonly charged: boolean;
  /** Why payments refused the charge (payment-failed), when it did: the order then ends payment_failed. */
  readonly paymentFailure: string | null;
  readonly cancelReason: CancelReason | null;
  /** Replies of the compensations sent that have not arrived yet. */
  readonly awaiting: readonly CompensationReply[];
}
