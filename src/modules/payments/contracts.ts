import { Type } from 'typebox';
import { defineCommand, defineEvent } from '../../kernel/index.js';

/** Messages of the payments module: data only, importable by any module. */

const Charge = Type.Object({
  orderId: Type.String(),
  userId: Type.String(),
  amountCents: Type.Integer({ minimum: 1 }),
});

export const fundsDeposited = defineEvent({
  type: 'payments.funds-deposited',
  schema: Type.Object({
    userId: Type.String(),
    amountCents: Type.Integer({ minimum: 1 }),
    balanceCents: Type.Integer(),
  }),
  partitionKey: (d) => d.userId,
});

export const chargePayment = defineCommand({
  type: 'payments.charge-payment',
  description: "Charge an order's total to the user's account; idempotent per order id.",
  schema: Charge,
  partitionKey: (d) => d.userId,
});

export const refundPayment = defineCommand({
  type: 'payments.refund-payment',
  description:
    "Refund an order's charge, if any; idempotent per order id. Replies payment-refunded (amount 0 when nothing was charged).",
  schema: Type.Object({ orderId: Type.String(), userId: Type.String() }),
  partitionKey: (d) => d.userId,
});

export const paymentCompleted = defineEvent({
  type: 'payments.payment-completed',
  schema: Type.Object({ ...Charge.properties, balanceCents: Type.Integer() }),
  partitionKey: (d) => d.userId,
});

export const paymentFailed = defineEvent({
  type: 'payments.payment-failed',
  description:
    'A charge was refused: insufficient_funds (the balance is short), or order_closed (the order was refunded or closed before this charge).',
  schema: Type.Object({
    ...Charge.properties,
    reason: Type.Union([Type.Literal('insufficient_funds'), Type.Literal('order_closed')]),
  }),
  partitionKey: (d) => d.userId,
});

export const paymentRefunded = defineEvent({
  type: 'payments.payment-refunded',
  schema: Type.Object({
    orderId: Type.String(),
    userId: Type.String(),
    amountCents: Type.Integer({ minimum: 0 }),
    balanceCents: Type.Integer(),
  }),
  partitionKey: (d) => d.userId,
});
