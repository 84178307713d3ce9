/**
 * payments: an event-sourced account per user (account id = user id).
 *
 * - Routes: POST /payments/deposits 🔒, GET /payments/account 🔒 (`?at=` replays up to a past
 *   time), GET /payments/account/events 🔒.
 * - Publishes: payments.funds-deposited, payments.payment-completed, payments.payment-failed,
 *   payments.payment-refunded.
 * - Handles: payments.charge-payment and payments.refund-payment, idempotent per order id, in one
 *   consumer keyed by user, so a user's charges and refunds are applied in order.
 * - Tables: payments_events, the append-only event store (optimistic concurrency on
 *   (account_id, version); each event with the schema version it was stored at, upcast on read:
 *   ledger-events.ts); payments_snapshots, an account's state every 100 events;
 *   payments_order_payments, each order's payment as the stream left it, written with the events.
 *   An account's state is its balance and version only (nothing that grows with its orders): the
 *   replay of the stream from the latest snapshot; the state a committed change left is kept in
 *   memory and used while the stream's head is still at its version (event-store.ts). A charge or
 *   a refund decides from its order's row.
 * - Sagas: none (takes part in orders.checkout).
 */
import { defineModule, on } from '../../kernel/index.js';
import {
  chargePayment,
  fundsDeposited,
  paymentCompleted,
  paymentFailed,
  paymentRefunded,
  refundPayment,
} from './contracts.js';
import { paymentsErrors } from './errors.js';
import { onChargePayment } from './handlers/on-charge-payment.js';
import { onRefundPayment } from './handlers/on-refund-payment.js';
import { ledgerEvents } from './ledger-events.js';
import { paymentsRoutes } from './routes.js';

export const paymentsModule = defineModule({
  name: 'payments',
  errors: paymentsErrors,
  http: { prefixes: ['/payments'] },
  messages: [fundsDeposited, chargePayment, refundPayment, paymentCompleted, paymentFailed, paymentRefunded],
  routes: paymentsRoutes,
  storedEvents: ledgerEvents,
  subscriptions: [
    {
      consumer: 'payments.account-commands',
      handlers: [on(chargePayment, onChargePayment), on(refundPayment, onRefundPayment)],
      concurrency: 4,
    },
  ],
});
