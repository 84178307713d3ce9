/**
 * orders: takes orders and runs them through checkout to exactly one terminal status.
 *
 * Publishes: orders.order-placed, orders.order-confirmed, orders.order-payment-failed,
 *   orders.order-cancelled; sends (through the saga) payments.charge-payment,
 *   payments.refund-payment, inventory.reserve-stock, inventory.release-stock.
 * Handles: inventory.product-created / product-updated (consumer `orders.catalogue`: the local price
 *   catalogue); the other modules' messages of the checkout flow (consumer `orders.timeline`; its
 *   own flow messages are recorded in the timeline as they are staged); the saga's replies
 *   (consumer `orders.checkout-saga`, run by the kernel's coordinator).
 * Tables: orders_orders, orders_catalogue, orders_timeline.
 * Sagas: orders.checkout (sagas/checkout.saga.ts).
 * HTTP: POST /orders (ORDERS_PER_USER_PER_MINUTE per user), GET /orders (pages), GET /orders/:id,
 *   GET /orders/:id/timeline (all 🔒).
 */
import { defineModule, on } from '../../kernel/index.js';
import {
  outOfStock,
  productCreated,
  productUpdated,
  releaseStock,
  reserveStock,
  stockReleased,
  stockReserved,
} from '../inventory/contracts.js';
import {
  chargePayment,
  paymentCompleted,
  paymentFailed,
  paymentRefunded,
  refundPayment,
} from '../payments/contracts.js';
import { orderCancelled, orderConfirmed, orderPaymentFailed, orderPlaced } from './contracts.js';
import { ordersErrors } from './errors.js';
import { onFlowMessage, onOwnFlowMessageStaged } from './handlers/on-flow-message.js';
import { onProductChanged } from './handlers/on-product-changed.js';
import { ordersRoutes } from './routes.js';
import { checkoutSaga } from './sagas/checkout.saga.js';
import { readOrdersSettings } from './settings.js';

/** The messages of an order's flow, in flow order (the timeline records every one of them). */
export const checkoutFlowMessages = [
  orderPlaced,
  chargePayment,
  paymentCompleted,
  paymentFailed,
  reserveStock,
  stockReserved,
  outOfStock,
  refundPayment,
  paymentRefunded,
  releaseStock,
  stockReleased,
  orderConfirmed,
  orderPaymentFailed,
  orderCancelled,
];

const ownMessages = [orderPlaced, orderConfirmed, orderPaymentFailed, orderCancelled];
const sentCommands = [chargePayment, refundPayment, reserveStock, releaseStock];
const ownTypes = new Set<string>([...ownMessages, ...sentCommands].map((m) => m.type));

export const ordersModule = defineModule({
  name: 'orders',
  errors: ordersErrors,
  settings: readOrdersSettings,
  http: { prefixes: ['/orders'] },
  messages: ownMessages,
  sends: sentCommands,
  routes: ordersRoutes,
  subscriptions: [
    {
      consumer: 'orders.catalogue',
      handlers: [on([productCreated, productUpdated], onProductChanged)],
    },
    {
      consumer: 'orders.timeline',
      handlers: [on(checkoutFlowMessages, onFlowMessage)],
      // This module's own flow messages are recorded as they are staged (onMessageStaged): only
      // the other modules' are routed here (it still handles its own, left by older versions).
      typesAtStart: checkoutFlowMessages.map((m) => m.type).filter((type) => !ownTypes.has(type)),
      concurrency: 8,
    },
  ],
  sagas: [checkoutSaga],
  onMessageStaged: onOwnFlowMessageStaged,
});

export { checkoutSaga } from './sagas/checkout.saga.js';
