import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, moduleCatalogue } from '../../src/app.js';
import { type HttpApp, loadConfig } from '../../src/kernel/index.js';
import { eventually } from '../../src/kernel/testing/index.js';
import { allPages } from '../support/module-testing.js';

/** With the real users, inventory, payments and orders modules: one notification per outcome. */

let app: HttpApp;
let dataDir: string;
const admin = () => ({ authorization: `Bearer ${app.jwt.sign({ sub: 'admin', role: 'admin' })}` });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'notifications-flow-'));
  const env = {
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    MODULES: 'users,inventory,payments,orders,notifications',
  };
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

describe('notifications in the checkout flow', () => {
  it('sends exactly one notification per terminal order and per refund, to the registered address', async () => {
    const account = { email: 'ann@example.com', password: 'correct horse', name: 'Ann' };
    expect((await app.inject({ method: 'POST', url: '/auth/register', payload: account })).statusCode).toBe(
      201,
    );
    const login = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: account.email, password: account.password },
    });
    const user = { authorization: `Bearer ${login.json().token}` };
    for (const [sku, stock] of [
      ['A', 10],
      ['S', 1],
    ] as const) {
      const payload = { sku, name: sku, priceCents: 250, stock };
      expect(
        (await app.inject({ method: 'POST', url: '/inventory/products', payload, headers: admin() }))
          .statusCode,
      ).toBe(201);
    }
    await app.inject({
      method: 'POST',
      url: '/payments/deposits',
      payload: { amountCents: 1000 },
      headers: user,
    });
    const place = async (items: object[]) => {
      const response = await eventually(async () => {
        const r = await app.inject({ method: 'POST', url: '/orders', payload: { items }, headers: user });
        expect(r.statusCode).toBe(202); // 400 until the product events reached the orders catalogue
        return r;
      });
      const id = response.json().id as string;
      return eventually(async () => {
        const found = (await app.inject({ url: `/orders/${id}`, headers: user })).json();
        expect(found.status).not.toBe('pending');
        return found.status as string;
      });
    };
    expect(await place([{ sku: 'A', quantity: 2 }])).toBe('confirmed');
    expect(await place([{ sku: 'A', quantity: 3 }])).toBe('payment_failed');
    expect(await place([{ sku: 'S', quantity: 2 }])).toBe('cancelled');
    const kinds = async () =>
      (await allPages<{ kind: string }>(app, '/notifications', user)).map((n) => n.kind);
    await eventually(async () => expect(await kinds()).toHaveLength(4));
    await new Promise((resolve) => setTimeout(resolve, 200)); // nothing more arrives
    expect((await kinds()).sort()).toEqual([
      'order-cancelled',
      'order-confirmed',
      'order-payment-failed',
      'payment-refunded',
    ]);
    const bodies = await allPages<{ body: string }>(app, '/notifications', user);
    expect(bodies.every((n) => n.body.startsWith('Hello Ann'))).toBe(true);
  });
});
