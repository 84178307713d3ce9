/**
 * inventory: products, their price and stock, and reservations for orders.
 *
 * - Routes: POST /inventory/products 🛡, PATCH /inventory/products/:sku 🛡,
 *   GET /inventory/products, GET /inventory/products/:sku.
 * - Publishes: inventory.product-created, inventory.product-updated (full product state on every
 *   change, reservations included), inventory.stock-reserved, inventory.out-of-stock,
 *   inventory.stock-released.
 * - Handles: inventory.reserve-stock (all lines or none) and inventory.release-stock (saga
 *   compensation), both idempotent per order id, in one consumer so an order's commands keep
 *   their order.
 * - Tables: inventory_products, inventory_reservations (each order's outcome).
 * - Sagas: none (takes part in orders.checkout).
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
} from './contracts.js';
import { inventoryErrors } from './errors.js';
import { onReleaseStock } from './handlers/on-release-stock.js';
import { onReserveStock } from './handlers/on-reserve-stock.js';
import { inventoryRoutes } from './routes.js';

export const inventoryModule = defineModule({
  name: 'inventory',
  errors: inventoryErrors,
  http: {
    prefixes: ['/inventory'],
    publicRoutes: [
      { method: 'GET', path: '/inventory/products' },
      { method: 'HEAD', path: '/inventory/products' },
      { method: 'GET', path: '/inventory/products/:sku' },
      { method: 'HEAD', path: '/inventory/products/:sku' },
    ],
  },
  messages: [
    productCreated,
    productUpdated,
    reserveStock,
    stockReserved,
    outOfStock,
    releaseStock,
    stockReleased,
  ],
  routes: inventoryRoutes,
  subscriptions: [
    {
      consumer: 'inventory.reservations',
      handlers: [on(reserveStock, onReserveStock), on(releaseStock, onReleaseStock)],
      concurrency: 4,
    },
  ],
});
