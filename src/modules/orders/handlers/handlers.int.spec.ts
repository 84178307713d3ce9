import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Envelope, MessageDraft, ModuleContext } from '../../../kernel/index.js';
import {
  envelopeOf,
  eventually,
  handlerContextWithoutInbox,
  startTestKernel,
  type TestKernel,
} from '../../../kernel/testing/index.js';
import { productCreated, productUpdated } from '../../inventory/contracts.js';
import { paymentCompleted } from '../../payments/contracts.js';
import { orderPlaced } from '../contracts.js';
import { ordersModule } from '../index.js';
import { onFlowMessage } from './on-flow-message.js';
import { onProductChanged } from './on-product-changed.js';

let tk: TestKernel;
let orders: ModuleContext;
beforeEach(async () => {
  tk = await startTestKernel({ modules: [ordersModule] });
  orders = tk.context('orders');
});
afterEach(() => tk.dispose());

const at = <T, Type extends string>(draft: MessageDraft<T, Type>, time: string): Envelope<T, Type> => ({
  ...envelopeOf(draft),
  time,
});
/** Delivers through the real transport and waits until every delivery has been handled. */
async function deliver(...messages: Envelope[]): Promise<void> {
  await tk.kernel.transport.publish(messages);
  await eventually(async () =>
    expect((await tk.kernel.transport.stats()).every((s) => s.depth === 0)).toBe(true),
  );
}
/** A handler context without an inbox: only the handler's own guards stand between it and a repeat. */
const noInbox = () => handlerContextWithoutInbox(orders);
const catalogue = () => orders.db.all(sql`SELECT sku, name, price_cents AS price FROM orders_catalogue`);
const product = { sku: 'A', name: 'Apple', priceCents: 100, stock: 5, reserved: 0 };

describe('orders.catalogue (product events → local prices)', () => {
  it('applies the same product event twice as once', async () => {
    const created = at(productCreated(product), '2030-01-01T00:00:01.000Z');
    await deliver(created);
    await deliver(created);
    await onProductChanged(created, noInbox());
    await onProductChanged(created, noInbox());
    expect(catalogue()).toEqual([{ sku: 'A', name: 'Apple', price: 100 }]);
  });

  it('never lets an older product event overwrite a newer one', async () => {
    await deliver(at(productCreated(product), '2030-01-01T00:00:01.000Z'));
    await deliver(at(productUpdated({ ...product, priceCents: 300 }), '2030-01-01T00:00:03.000Z'));
    await deliver(at(productUpdated({ ...product, priceCents: 200 }), '2030-01-01T00:00:02.000Z'));
    expect(catalogue()).toEqual([{ sku: 'A', name: 'Apple', price: 300 }]);
    await deliver(
      at(productUpdated({ ...product, name: 'Green apple', priceCents: 400 }), '2030-01-01T00:00:04.000Z'),
    );
    expect(catalogue()).toEqual([{ sku: 'A', name: 'Green apple', price: 400 }]);
  });
});

describe('orders.timeline and orders.checkout-saga', () => {
  const placed = envelopeOf(
    orderPlaced({
      orderId: 'o1',
      userId: 'u1',
      totalCents: 200,
      items: [{ sku: 'A', quantity: 2, priceCents: 100 }],
    }),
  );

  const timeline = () =>
    orders.db.all<{ event_id: string; type: string }>(sql`SELECT event_id, type FROM orders_timeline`);

  it("records another module's flow message delivered twice once", async () => {
    const completed = envelopeOf(
      paymentCompleted({ orderId: 'o1', userId: 'u1', amountCents: 200, balanceCents: 0 }),
    );
    await deliver(completed);
    await deliver(completed);
    await onFlowMessage(completed, noInbox());
    expect(timeline().filter((row) => row.event_id === completed.id)).toEqual([
      { event_id: completed.id, type: completed.type },
    ]);
  });

  it('records its own flow messages as they are staged, with no delivery to the timeline', async () => {
    const consumer = tk.kernel.consumers().find((c) => c.name === 'orders.timeline');
    expect(consumer?.types).toContain(placed.type); // it can handle them (left by an older version)…
    await deliver(placed); // …but only the saga takes it now; the charge it sends is staged here
    const charge = orders.db.get<{ id: string }>(
      sql`SELECT id FROM kernel_outbox WHERE type = 'payments.charge-payment'`,
    );
    expect(timeline()).toEqual([{ event_id: charge?.id, type: 'payments.charge-payment' }]);
    const handled = (await tk.kernel.metrics.handled.get()).values.map((v) => v.labels.consumer);
    expect(handled).toContain('orders.checkout-saga');
    expect(handled).not.toContain('orders.timeline');
  });

  it('starts one saga and sends one charge for an order-placed delivered twice', async () => {
    await deliver(placed);
    await deliver(placed);
    const charges = orders.db.all(sql`SELECT id FROM kernel_outbox WHERE type = 'payments.charge-payment'`);
    expect(charges).toHaveLength(1);
    expect((await tk.kernel.listSagas()).items).toMatchObject([
      { id: 'o1', status: 'running', step: 'payment' },
    ]);
  });
});
