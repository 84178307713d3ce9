import { Type } from 'typebox';
import { defineStoredEvents } from '../../kernel/index.js';
import type { AccountEventType } from './account.js';

// As loose as what was stored before rows were validated: a read must accept every stored event.
const OrderId = Type.String();
const Amount = Type.Integer();

/**
 * The schemas of the events an account stream stores (account.ts's AccountEvent), with their
 * versions. Each row of payments_events records the version its data was stored at; a read
 * upcasts it to the newest, so the stream replays every version it ever stored. Changing one
 * follows docs/adr/0015 like a message: FULL compatible within a version (checked by
 * `npm run check:schemas` against schemas/stored/), else a new version with its upcaster.
 */
export const ledgerEvents = defineStoredEvents<AccountEventType>('payments', {
  FundsDeposited: { schema: Type.Object({ amountCents: Amount }) },
  PaymentCharged: { schema: Type.Object({ orderId: OrderId, amountCents: Amount }) },
  PaymentFailed: {
    schema: Type.Object({
      orderId: OrderId,
      amountCents: Amount,
      reason: Type.Union([Type.Literal('insufficient_funds'), Type.Literal('order_closed')]),
    }),
  },
  PaymentRefunded: { schema: Type.Object({ orderId: OrderId, amountCents: Amount }) },
  OrderClosed: { schema: Type.Object({ orderId: OrderId }) },
});
