import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { moduleCatalogue } from '../../src/app.js';
import { createHost } from '../../src/kernel/host/create-host.js';
import {
  type HttpApp,
  loadConfig,
  type ModuleContext,
  type ModuleDefinition,
} from '../../src/kernel/index.js';
import { eventually } from '../../src/kernel/testing/index.js';
import { productCreated } from '../../src/modules/inventory/contracts.js';
import { ordersModule } from '../../src/modules/orders/index.js';
import { createPeerWorld, fakePeers } from '../../src/modules/orders/testing/peers.js';

/**
 * The checkout saga end to end over HTTP: the outcomes with the real payments and inventory
 * modules; the step timeouts with stand-ins that can be told not to answer.
 */

let app: HttpApp;
let dataDir: string;

async function start(env: Record<string, string>, modules?: readonly ModuleDefinition[]): Promise<void> {
  dataDir = mkdtempSync(join(tmpdir(), 'checkout-e2e-'));
  const names = (modules ?? moduleCatalogue).map((m) => m.name);
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env }, names);
  app = await createHost(config, { catalogue: modules ?? moduleCatalogue });
}
async function stop(): Promise<void> {
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
}
const contextOf = (name: string): ModuleContext => {
  const found = app.kernel.modules.find((m) => m.definition.name === name);
  if (!found) throw new Error(`${name} not running`);
  return found.context;
};
const bearer = (sub: string) => ({
  authorization: `Bearer ${app.jwt.sign({ sub, role: sub === 'admin' ? 'admin' : 'user' })}`,
});
const get = async (url: string, sub: string) => (await app.inject({ url, headers: bearer(sub) })).json();
async function order(sub: string, items: { sku: string; quantity: number }[], correlation?: string) {
  const headers = { ...bearer(sub), ...(correlation ? { 'x-correlation-id': correlation } : {}) };
  const response = await app.inject({ method: 'POST', url: '/orders', payload: { items }, headers });
  expect(response.statusCode).toBe(202);
  return response.json() as { id: string; totalCents: number };
}
const terminal = (id: string, sub: string) =>
  eventually(
    async () => {
      const found = await get(`/orders/${id}`, sub);
      expect(found.status).not.toBe('pending');
      return found as { status: string; reason?: string; totalCents: number };
    },
    { timeoutMs: 10_000 },
  );
/** Outcome events staged for an order: exactly one per order, always. */
const outcomes = (orderId: string) =>
  contextOf('orders')
    .db.all<{ type: string }>(
      sql`SELECT type FROM kernel_outbox WHERE type IN ('orders.order-confirmed', 'orders.order-payment-failed', 'orders.order-cancelled') AND json_extract(envelope, '$.data.orderId') = ${orderId}`,
    )
    .map((row) => row.type);
const catalogued = (count: number) =>
  eventually(async () =>
    expect(contextOf('orders').db.all(sql`SELECT sku FROM orders_catalogue`)).toHaveLength(count),
  );

describe('checkout with the real payments and inventory', () => {
  const balance = async (sub: string) => (await get('/payments/account', sub)).balanceCents as number;
  const stock = async (sku: string) => (await get(`/inventory/products/${sku}`, 'admin')).stock as number;
  const deposit = (sub: string, amountCents: number) =>
    app.inject({ method: 'POST', url: '/payments/deposits', payload: { amountCents }, headers: bearer(sub) });

  beforeAll(async () => {
    await start({ MODULES: 'orders,payments,inventory' });
    for (const [sku, stockUnits] of [
      ['A', 1000],
      ['S', 1],
    ] as const) {
      const payload = { sku, name: sku, priceCents: 250, stock: stockUnits };
      await app.inject({ method: 'POST', url: '/inventory/products', payload, headers: bearer('admin') });
    }
    await catalogued(2);
  });
  afterAll(() => stop());

  it('confirms an order with enough money and stock: balance debited, stock reduced', async () => {
    await deposit('rich', 100_000);
    const placed = await order('rich', [{ sku: 'A', quantity: 4 }]);
    expect(await terminal(placed.id, 'rich')).toMatchObject({ status: 'confirmed', totalCents: 1000 });
    expect(await balance('rich')).toBe(99_000);
    expect(await stock('A')).toBe(996);
    expect(outcomes(placed.id)).toEqual(['orders.order-confirmed']);
  });

  it('fails the payment when the balance is short: nothing changes', async () => {
    await deposit('poor', 100);
    const placed = await order('poor', [{ sku: 'A', quantity: 1 }]);
    expect(await terminal(placed.id, 'poor')).toMatchObject({
      status: 'payment_failed',
      reason: 'insufficient_funds',
    });
    expect(await balance('poor')).toBe(100);
    expect(await stock('A')).toBe(996);
    expect(outcomes(placed.id)).toEqual(['orders.order-payment-failed']);
  });

  it('cancels on short stock after refunding, with a causal timeline under one correlation id', async () => {
    await deposit('short', 10_000);
    const placed = await order('short', [{ sku: 'S', quantity: 2 }], 'checkout-oos-1');
    expect(await terminal(placed.id, 'short')).toMatchObject({ status: 'cancelled', reason: 'out_of_stock' });
    expect(await balance('short')).toBe(10_000);
    expect(await stock('S')).toBe(1);
    expect(outcomes(placed.id)).toEqual(['orders.order-cancelled']);
    const timeline = await eventually(async () => {
      const entries = await get(`/orders/${placed.id}/timeline`, 'short');
      expect(entries).toHaveLength(8);
      return entries as { id: string; type: string; causationid: string | null; correlationid: string }[];
    });
    expect(timeline.map((e) => e.type)).toEqual([
      'orders.order-placed',
      'payments.charge-payment',
      'payments.payment-completed',
      'inventory.reserve-stock',
      'inventory.out-of-stock',
      'payments.refund-payment',
      'payments.payment-refunded',
      'orders.order-cancelled',
    ]);
    expect(new Set(timeline.map((e) => e.correlationid))).toEqual(new Set(['checkout-oos-1']));
    expect(timeline[0]?.causationid).toBeNull();
    expect(timeline.slice(1).map((e) => e.causationid)).toEqual(timeline.slice(0, -1).map((e) => e.id));
  });

  it('brings many concurrent orders of one user to one terminal status each, without overdraft', async () => {
    await deposit('many', 10_000);
    const placed = await Promise.all(
      Array.from({ length: 30 }, () => order('many', [{ sku: 'A', quantity: 2 }])),
    );
    const pending = () =>
      contextOf('orders').db.all(
        sql`SELECT id FROM orders_orders WHERE user_id = 'many' AND status = 'pending'`,
      );
    await eventually(async () => expect(pending()).toEqual([]), { timeoutMs: 15_000, intervalMs: 50 });
    const finals = await Promise.all(placed.map((p) => terminal(p.id, 'many')));
    expect(finals.filter((f) => f.status === 'confirmed')).toHaveLength(20); // 10_000 / 500
    expect(finals.filter((f) => f.status === 'payment_failed')).toHaveLength(10);
    expect(await balance('many')).toBe(0);
    expect(await stock('A')).toBe(996 - 40);
    for (const p of placed) expect(outcomes(p.id)).toHaveLength(1);
  });
});

describe('checkout step timeouts (stand-in peers told not to answer)', () => {
  const world = createPeerWorld({ late: 10_000, lost: 10_000, stuck: 10_000 }, { S: 1, T: 1_000 });

  beforeAll(async () => {
    await start({ SAGA_STEP_TIMEOUT_MS: '1000' }, [ordersModule, ...fakePeers(world)]);
    await contextOf('inventory').transact((tx) =>
      tx.stage(
        ...['S', 'T'].map((sku) =>
          productCreated({ sku, name: sku, priceCents: 250, stock: 1, reserved: 0 }),
        ),
      ),
    );
    await catalogued(2);
  });
  afterEach(() => {
    world.silent.clear();
    world.lostReplies.clear();
  });
  afterAll(() => stop());

  it('cancels with reason timeout when payments does not answer, and refunds whatever was charged', async () => {
    world.silent.add('charge-payment');
    const placed = await order('late', [{ sku: 'T', quantity: 1 }]);
    expect(await terminal(placed.id, 'late')).toMatchObject({ status: 'cancelled', reason: 'timeout' });
    await eventually(async () => expect(world.balances.get('late')).toBe(10_000));
    expect(outcomes(placed.id)).toEqual(['orders.order-cancelled']);
  });

  it('on a timeout of the stock step, releases the reservation and refunds before cancelling', async () => {
    world.lostReplies.add('reserve-stock'); // reserved, but the reply never comes
    const placed = await order('lost', [{ sku: 'T', quantity: 3 }]);
    expect(await terminal(placed.id, 'lost')).toMatchObject({ status: 'cancelled', reason: 'timeout' });
    await eventually(async () => expect(world.balances.get('lost')).toBe(10_000));
    await eventually(async () => expect(world.stock.get('T')).toBe(1_000));
    const types = await eventually(async () => {
      const entries = await get(`/orders/${placed.id}/timeline`, 'lost');
      expect(entries.at(-1)?.type).toBe('orders.order-cancelled');
      return entries.map((e: { type: string }) => e.type);
    });
    expect(types).toContain('inventory.stock-released');
    expect(types).toContain('payments.payment-refunded');
    expect(outcomes(placed.id)).toEqual(['orders.order-cancelled']);
  });

  it('cancels even when a compensation gets no reply: the saga gives up waiting (failed)', async () => {
    world.silent.add('refund-payment');
    const placed = await order('stuck', [{ sku: 'S', quantity: 5 }]);
    expect(await terminal(placed.id, 'stuck')).toMatchObject({ status: 'cancelled', reason: 'out_of_stock' });
    expect((await app.kernel.listSagas({ status: 'failed' })).items).toContainEqual(
      expect.objectContaining({ id: placed.id, name: 'orders.checkout' }),
    );
    expect(outcomes(placed.id)).toEqual(['orders.order-cancelled']);
  });
});
