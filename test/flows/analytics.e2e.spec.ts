import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, moduleCatalogue } from '../../src/app.js';
import { type HttpApp, loadConfig } from '../../src/kernel/index.js';
import { eventually } from '../../src/kernel/testing/index.js';
import { allPages } from '../support/module-testing.js';

/** With the real inventory, payments and orders modules: the summary matches the orders. */

let app: HttpApp;
let dataDir: string;
const admin = () => ({ authorization: `Bearer ${app.jwt.sign({ sub: 'admin', role: 'admin' })}` });
const user = () => ({ authorization: `Bearer ${app.jwt.sign({ sub: 'u1', role: 'user' })}` });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'analytics-flow-'));
  const env = { DATA_DIR: dataDir, LOG_LEVEL: 'silent', MODULES: 'inventory,payments,orders,analytics' };
  app = await buildApp(
    loadConfig(
      env,
      moduleCatalogue.map((m) => m.name),
    ),
  );
});
afterAll(async () => {
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('analytics in the checkout flow', () => {
  it('counts every order outcome and refund as the orders show them; a rebuild gives the same', async () => {
    for (const [sku, stock] of [
      ['A', 100],
      ['S', 1],
    ] as const) {
      const payload = { sku, name: sku, priceCents: 250, stock };
      await app.inject({ method: 'POST', url: '/inventory/products', payload, headers: admin() });
    }
    await app.inject({
      method: 'POST',
      url: '/payments/deposits',
      payload: { amountCents: 2000 },
      headers: user(),
    });
    const lines = [
      [{ sku: 'A', quantity: 2 }],
      [{ sku: 'S', quantity: 2 }],
      [{ sku: 'A', quantity: 1 }],
      [{ sku: 'A', quantity: 40 }],
    ];
    const ids: string[] = [];
    for (const items of lines) {
      const response = await eventually(async () => {
        const r = await app.inject({ method: 'POST', url: '/orders', payload: { items }, headers: user() });
        expect(r.statusCode).toBe(202);
        return r;
      });
      ids.push(response.json().id);
    }
    const orders = await eventually(async () => {
      const all = await allPages<{ status: string; totalCents: number }>(app, '/orders', user());
      expect(all.filter((o) => o.status === 'pending')).toEqual([]);
      return all;
    });
    const count = (status: string) => orders.filter((o) => o.status === status).length;
    const expected = {
      ordersPlaced: 4,
      ordersConfirmed: count('confirmed'),
      ordersPaymentFailed: count('payment_failed'),
      ordersCancelled: count('cancelled'),
      revenueCents: orders.filter((o) => o.status === 'confirmed').reduce((sum, o) => sum + o.totalCents, 0),
      refundedCents: 500,
    };
    expect(expected).toMatchObject({
      ordersConfirmed: 2,
      ordersPaymentFailed: 1,
      ordersCancelled: 1,
      revenueCents: 750,
    });
    const summary = async () => (await app.inject({ url: '/analytics/summary', headers: admin() })).json();
    await eventually(async () => expect(await summary()).toEqual(expected));
    const rebuilt = await app.inject({ method: 'POST', url: '/analytics/rebuild', headers: admin() });
    expect(rebuilt.json()).toEqual(expected);
  });
});
