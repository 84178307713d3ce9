import { Type } from 'typebox';
import { defineCommand, defineEvent } from '../../kernel/index.js';

/** Messages of the inventory module: data only, importable by any module. */

export const ProductState = Type.Object({
  sku: Type.String(),
  name: Type.String(),
  priceCents: Type.Integer({ minimum: 1 }),
  /** Available stock (not counting reserved units). */
  stock: Type.Integer({ minimum: 0 }),
  reserved: Type.Integer({ minimum: 0 }),
});

export const OrderLine = Type.Object({ sku: Type.String(), quantity: Type.Integer({ minimum: 1 }) });

export const productCreated = defineEvent({
  type: 'inventory.product-created',
  description: 'A product was added; carries its full state (event-carried state transfer).',
  schema: ProductState,
  partitionKey: (d) => d.sku,
});

export const productUpdated = defineEvent({
  type: 'inventory.product-updated',
  description: 'A product changed (price, stock or reservations); carries its full state.',
  schema: ProductState,
  partitionKey: (d) => d.sku,
});

export const reserveStock = defineCommand({
  type: 'inventory.reserve-stock',
  description: 'Reserve every line of an order, or none.',
  schema: Type.Object({
    orderId: Type.String(),
    userId: Type.String(),
    items: Type.Array(OrderLine, { minItems: 1 }),
  }),
  partitionKey: (d) => d.orderId,
});

export const stockReserved = defineEvent({
  type: 'inventory.stock-reserved',
  schema: Type.Object({ orderId: Type.String(), userId: Type.String(), items: Type.Array(OrderLine) }),
  partitionKey: (d) => d.orderId,
});

export const outOfStock = defineEvent({
  type: 'inventory.out-of-stock',
  description: 'An order could not be reserved; names the short skus. Nothing was reserved.',
  schema: Type.Object({ orderId: Type.String(), userId: Type.String(), skus: Type.Array(Type.String()) }),
  partitionKey: (d) => d.orderId,
});

export const releaseStock = defineCommand({
  type: 'inventory.release-stock',
  description:
    "Undo an order's reservation, if any (saga compensation); idempotent per order id. A reserve-stock arriving later for that order is refused.",
  schema: Type.Object({ orderId: Type.String(), userId: Type.String() }),
  partitionKey: (d) => d.orderId,
});

export const stockReleased = defineEvent({
  type: 'inventory.stock-released',
  schema: Type.Object({ orderId: Type.String(), userId: Type.String(), items: Type.Array(OrderLine) }),
  partitionKey: (d) => d.orderId,
});
