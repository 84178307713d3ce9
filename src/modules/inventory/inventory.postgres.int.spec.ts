import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import {
  createTestDatabase,
  describeWithPostgres,
  envelopeOf,
  openMigratedPostgresModule,
  type PostgresModuleDatabase,
  type PostgresModuleHarness,
  postgresModuleHarness,
  type TestDatabase,
} from '../../kernel/testing/index.js';
import { releaseStock, reserveStock } from './contracts.js';
import { onReleaseStock } from './handlers/on-release-stock.js';
import { onReserveStock } from './handlers/on-reserve-stock.js';
import { findProduct, findReservation, listProducts } from './queries.js';
import { inventoryProducts } from './schema.js';
import { moveStock } from './stock.js';

/**
 * inventory's module code (the same as on SQLite: its handlers, queries and prepared statements)
 * on PostgreSQL, on the module's schema as the PostgreSQL migrations make it. Messages the
 * handlers stage are recorded by the harness (the kernel's outbox on PostgreSQL is not there yet).
 */
await describeWithPostgres('inventory on PostgreSQL', () => {
  let server: TestDatabase;
  let database: PostgresModuleDatabase;
  let module: PostgresModuleHarness;
  const order = (orderId: string, items: { sku: string; quantity: number }[]) =>
    envelopeOf(reserveStock({ orderId, userId: 'u1', items }));
  const stockOf = async (sku: string) => {
    const product = await findProduct(module.db, sku);
    return product && [product.stock, product.reserved];
  };
  const lastStaged = () => module.staged.at(-1);

  beforeAll(async () => {
    server = await createTestDatabase('inventory');
    database = await openMigratedPostgresModule(server.url, 'inventory');
  });
  afterAll(async () => {
    await database?.close();
    await server?.drop();
  });
  beforeEach(async () => {
    module = postgresModuleHarness(database);
    await database.query('TRUNCATE inventory_products, inventory_reservations');
    const now = Date.now();
    await module.db.insert(inventoryProducts).values([
      {
        sku: 'apple',
        name: 'Apple',
        priceCents: 100,
        stock: 10,
        reserved: 0,
        createdAt: now,
        updatedAt: now,
      },
      { sku: 'pear', name: 'Pear', priceCents: 150, stock: 2, reserved: 0, createdAt: now, updatedAt: now },
    ]);
  });

  it('reserves every line of an order, publishing the new state of each product', async () => {
    await onReserveStock(
      order('o1', [
        { sku: 'apple', quantity: 3 },
        { sku: 'pear', quantity: 2 },
      ]),
      module.handlerContext,
    );
    expect(await stockOf('apple')).toEqual([7, 3]);
    expect(await stockOf('pear')).toEqual([0, 2]);
    expect(module.staged.map((draft) => draft.type)).toEqual([
      'inventory.product-updated',
      'inventory.product-updated',
      'inventory.stock-reserved',
    ]);
    expect(module.staged[0]?.data).toEqual({
      sku: 'apple',
      name: 'Apple',
      priceCents: 100,
      stock: 7,
      reserved: 3,
    });
    expect(await findReservation(module.db, 'o1')).toMatchObject({ status: 'reserved', shortSkus: [] });
  });

  it('reserves nothing when a line is short, and answers a repeated command with the recorded outcome', async () => {
    const short = order('o2', [
      { sku: 'apple', quantity: 1 },
      { sku: 'pear', quantity: 3 },
      { sku: 'plum', quantity: 1 },
    ]);
    await onReserveStock(short, module.handlerContext);
    expect(lastStaged()).toMatchObject({ type: 'inventory.out-of-stock', data: { skus: ['pear', 'plum'] } });
    expect(await stockOf('apple')).toEqual([10, 0]);
    await onReserveStock(short, module.handlerContext);
    expect(lastStaged()).toMatchObject({ type: 'inventory.out-of-stock', data: { skus: ['pear', 'plum'] } });
    expect(await findReservation(module.db, 'o2')).toMatchObject({ status: 'out_of_stock', items: [] });
  });

  it('releases what an order holds once, and refuses to reserve for it afterwards', async () => {
    const reserve = order('o3', [{ sku: 'apple', quantity: 4 }]);
    await onReserveStock(reserve, module.handlerContext);
    const release = envelopeOf(releaseStock({ orderId: 'o3', userId: 'u1' }));
    await onReleaseStock(release, module.handlerContext);
    await onReleaseStock(release, module.handlerContext);
    expect(await stockOf('apple')).toEqual([10, 0]);
    expect(lastStaged()).toMatchObject({
      type: 'inventory.stock-released',
      data: { items: [{ sku: 'apple', quantity: 4 }] },
    });
    await onReserveStock(order('o3', [{ sku: 'apple', quantity: 1 }]), module.handlerContext);
    expect(lastStaged()).toMatchObject({ type: 'inventory.out-of-stock' });
    expect(await stockOf('apple')).toEqual([10, 0]);
  });

  it("rolls the whole move back when a product's CHECK constraint refuses it", async () => {
    await expect(
      database.transaction(() =>
        moveStock(
          module.tx,
          [
            { sku: 'apple', quantity: 5 },
            { sku: 'pear', quantity: 3 }, // more than its stock: stock >= 0 fails
          ],
          'reserve',
        ),
      ),
    ).rejects.toThrow();
    expect(await stockOf('apple')).toEqual([10, 0]);
    expect(await stockOf('pear')).toEqual([2, 0]);
  });

  it('pages the catalogue by sku (keyset pagination)', async () => {
    const first = await listProducts(module.db, { limit: 1 });
    expect(first.items.map((p) => p.sku)).toEqual(['apple']);
    expect(first.next).not.toBeNull();
    const second = await listProducts(module.db, { limit: 1, cursor: first.next ?? undefined });
    expect(second).toEqual({ items: [expect.objectContaining({ sku: 'pear' })], next: null });
  });
});
