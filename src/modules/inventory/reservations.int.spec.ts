import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProbe, deliver, deliverTwice, type Probe } from '../../../test/support/module-testing.js';
import { startTestKernel, type TestKernel } from '../../kernel/testing/index.js';
import { createProduct } from './commands/create-product.js';
import {
  outOfStock,
  productUpdated,
  releaseStock,
  reserveStock,
  stockReleased,
  stockReserved,
} from './contracts.js';
import { inventoryModule } from './index.js';
import { listProducts } from './queries.js';

describe('inventory handlers (reserve-stock, release-stock)', () => {
  let tk: TestKernel;
  let probe: Probe;
  const stock = async () =>
    Object.fromEntries(
      (await listProducts(tk.context('inventory').db, {})).items.map((p) => [p.sku, [p.stock, p.reserved]]),
    );
  const reserve = (orderId: string, items: { sku: string; quantity: number }[]) =>
    reserveStock({ orderId, userId: 'u1', items });

  beforeEach(async () => {
    probe = createProbe([stockReserved, outOfStock, stockReleased, productUpdated]);
    tk = await startTestKernel({ modules: [inventoryModule, probe.module] });
    const ctx = tk.context('inventory');
    await createProduct(ctx, { sku: 'apple', name: 'Apple', priceCents: 100, stock: 10 });
    await createProduct(ctx, { sku: 'pear', name: 'Pear', priceCents: 250, stock: 2 });
  });
  afterEach(() => tk.dispose());

  it('reserves every line, moving units from stock to reserved, and publishes the new product states', async () => {
    await deliver(
      tk.kernel,
      reserve('o1', [
        { sku: 'apple', quantity: 3 },
        { sku: 'pear', quantity: 2 },
      ]),
    );
    expect(await stock()).toEqual({ apple: [7, 3], pear: [0, 2] });
    expect(probe.dataOf(stockReserved)).toEqual([
      {
        orderId: 'o1',
        userId: 'u1',
        items: [
          { sku: 'apple', quantity: 3 },
          { sku: 'pear', quantity: 2 },
        ],
      },
    ]);
    expect(probe.dataOf(productUpdated)).toEqual([
      { sku: 'apple', name: 'Apple', priceCents: 100, stock: 7, reserved: 3 },
      { sku: 'pear', name: 'Pear', priceCents: 250, stock: 0, reserved: 2 },
    ]);
  });

  it('adds up lines naming the same sku', async () => {
    await deliver(
      tk.kernel,
      reserve('o1', [
        { sku: 'pear', quantity: 2 },
        { sku: 'pear', quantity: 1 },
      ]),
    );
    expect(probe.dataOf(outOfStock)).toEqual([{ orderId: 'o1', userId: 'u1', skus: ['pear'] }]);
    expect(await stock()).toEqual({ apple: [10, 0], pear: [2, 0] });
  });

  it('reserves nothing when a line is short, naming the short skus (an unknown sku is short)', async () => {
    await deliver(
      tk.kernel,
      reserve('o1', [
        { sku: 'apple', quantity: 1 },
        { sku: 'pear', quantity: 3 },
        { sku: 'ghost', quantity: 1 },
      ]),
    );
    expect(probe.dataOf(outOfStock)).toEqual([{ orderId: 'o1', userId: 'u1', skus: ['pear', 'ghost'] }]);
    expect(probe.dataOf(stockReserved)).toEqual([]);
    expect(probe.dataOf(productUpdated)).toEqual([]);
    expect(await stock()).toEqual({ apple: [10, 0], pear: [2, 0] });
  });

  it('handles the same reserve-stock envelope delivered twice once', async () => {
    await deliverTwice(tk.kernel, reserve('o1', [{ sku: 'apple', quantity: 4 }]));
    expect(await stock()).toEqual({ apple: [6, 4], pear: [2, 0] });
    expect(probe.dataOf(stockReserved)).toHaveLength(1);
    expect(probe.dataOf(productUpdated)).toHaveLength(1);
  });

  it('never reserves twice for one order id: a second command replies the recorded outcome', async () => {
    await deliver(tk.kernel, reserve('o1', [{ sku: 'apple', quantity: 4 }]));
    await deliver(tk.kernel, reserve('o1', [{ sku: 'apple', quantity: 4 }]));
    expect(await stock()).toEqual({ apple: [6, 4], pear: [2, 0] });
    expect(probe.dataOf(stockReserved)).toHaveLength(2);
    expect(probe.dataOf(productUpdated)).toHaveLength(1);

    await deliver(tk.kernel, reserve('o2', [{ sku: 'pear', quantity: 5 }]));
    await deliver(tk.kernel, reserve('o2', [{ sku: 'apple', quantity: 1 }]));
    expect(probe.dataOf(outOfStock)).toEqual([
      { orderId: 'o2', userId: 'u1', skus: ['pear'] },
      { orderId: 'o2', userId: 'u1', skus: ['pear'] },
    ]);
    expect(await stock()).toEqual({ apple: [6, 4], pear: [2, 0] });
  });

  it('releases an order’s reservation once, also when the same envelope comes twice', async () => {
    await deliver(
      tk.kernel,
      reserve('o1', [
        { sku: 'apple', quantity: 3 },
        { sku: 'pear', quantity: 1 },
      ]),
    );
    await deliverTwice(tk.kernel, releaseStock({ orderId: 'o1', userId: 'u1' }));
    expect(await stock()).toEqual({ apple: [10, 0], pear: [2, 0] });
    const released = {
      orderId: 'o1',
      userId: 'u1',
      items: [
        { sku: 'apple', quantity: 3 },
        { sku: 'pear', quantity: 1 },
      ],
    };
    expect(probe.dataOf(stockReleased)).toEqual([released]);

    await deliver(tk.kernel, releaseStock({ orderId: 'o1', userId: 'u1' }));
    expect(await stock()).toEqual({ apple: [10, 0], pear: [2, 0] });
    expect(probe.dataOf(stockReleased)).toEqual([released, released]);
    expect(probe.dataOf(productUpdated).at(-1)).toEqual({
      sku: 'pear',
      name: 'Pear',
      priceCents: 250,
      stock: 2,
      reserved: 0,
    });
  });

  it('answers a release without a reservation with nothing given back, and then refuses a late reserve-stock', async () => {
    await deliver(tk.kernel, releaseStock({ orderId: 'o1', userId: 'u1' }));
    expect(probe.dataOf(stockReleased)).toEqual([{ orderId: 'o1', userId: 'u1', items: [] }]);
    await deliver(tk.kernel, reserve('o1', [{ sku: 'apple', quantity: 1 }]));
    expect(probe.dataOf(outOfStock)).toEqual([{ orderId: 'o1', userId: 'u1', skus: ['apple'] }]);
    expect(probe.dataOf(stockReserved)).toEqual([]);
    expect(await stock()).toEqual({ apple: [10, 0], pear: [2, 0] });
  });

  it('gives nothing back for an order that was out of stock', async () => {
    await deliver(tk.kernel, reserve('o1', [{ sku: 'pear', quantity: 3 }]));
    await deliver(tk.kernel, releaseStock({ orderId: 'o1', userId: 'u1' }));
    expect(probe.dataOf(stockReleased)).toEqual([{ orderId: 'o1', userId: 'u1', items: [] }]);
    expect(await stock()).toEqual({ apple: [10, 0], pear: [2, 0] });
  });

  it('never sells a unit twice when orders compete for the last ones', async () => {
    await deliver(
      tk.kernel,
      ...Array.from({ length: 5 }, (_, i) => reserve(`o${i}`, [{ sku: 'pear', quantity: 1 }])),
    );
    expect(probe.dataOf(stockReserved)).toHaveLength(2);
    expect(probe.dataOf(outOfStock)).toHaveLength(3);
    expect(await stock()).toEqual({ apple: [10, 0], pear: [0, 2] });
  });
});
