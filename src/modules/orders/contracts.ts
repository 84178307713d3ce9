import { Type } from 'typebox';
import { defineEvent } from '../../kernel/index.js';

/** Messages of the orders module: data only, importable by any module. */

export const PricedLine = Type.Object({
  sku: Type.String(),
  quantity: Type.Integer({ minimum: 1 }),
  priceCents: Type.Integer({ minimum: 1 }),
});

const OrderRef = { orderId: Type.String(), userId: Type.String(), totalCents: Type.Integer({ minimum: 0 }) };

export const orderPlaced = defineEvent({
  type: 'orders.order-placed',
  description: 'An order was accepted as pending; starts the orders.checkout saga.',
  schema: Type.Object({ ...OrderRef, items: Type.Array(PricedLine, { minItems: 1 }) }),
  partitionKey: (d) => d.userId,
});

export const orderConfirmed = defineEvent({
  type: 'orders.order-confirmed',
  schema: Type.Object(OrderRef),
  partitionKey: (d) => d.userId,
});

export const orderPaymentFailed = defineEvent({
  type: 'orders.order-payment-failed',
  schema: Type.Object({ ...OrderRef, reason: Type.String() }),
  partitionKey: (d) => d.userId,
});

export const orderCancelled = defineEvent({
  type: 'orders.order-cancelled',
  schema: Type.Object({
    ...OrderRef,
    reason: Type.Union([Type.Literal('out_of_stock'), Type.Literal('timeout')]),
  }),
  partitionKey: (d) => d.userId,
});
