/**
 * analytics: CQRS read models of orders and payments, rebuilt on demand from its own event log.
 *
 * Publishes: nothing.
 * Handles: orders.order-placed, orders.order-confirmed, orders.order-payment-failed,
 *   orders.order-cancelled, payments.funds-deposited, payments.payment-completed,
 *   payments.payment-failed, payments.payment-refunded (consumer `analytics.projections`).
 * Tables: analytics_event_log (append-only), analytics_summary (read model).
 * Sagas: none.
 * HTTP: GET /analytics/summary 🛡, POST /analytics/rebuild 🛡.
 */
import { defineModule, on } from '../../kernel/index.js';
import { orderCancelled, orderConfirmed, orderPaymentFailed, orderPlaced } from '../orders/contracts.js';
import { fundsDeposited, paymentCompleted, paymentFailed, paymentRefunded } from '../payments/contracts.js';
import { onBusinessEvent } from './handlers/on-business-event.js';
import { analyticsRoutes } from './routes.js';

export const analyticsModule = defineModule({
  name: 'analytics',
  http: { prefixes: ['/analytics'] },
  routes: analyticsRoutes,
  subscriptions: [
    {
      consumer: 'analytics.projections',
      handlers: [
        on(
          [
            orderPlaced,
            orderConfirmed,
            orderPaymentFailed,
            orderCancelled,
            fundsDeposited,
            paymentCompleted,
            paymentFailed,
            paymentRefunded,
          ],
          onBusinessEvent,
        ),
      ],
    },
  ],
});
