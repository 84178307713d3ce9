import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, moduleCatalogue } from '../../src/app.js';
import { type HttpApp, loadConfig, type ModuleContext } from '../../src/kernel/index.js';
import { eventually } from '../../src/kernel/testing/index.js';
import { allPages } from '../support/module-testing.js';

let app: HttpApp;
let dataDir: string;

const contextOf = (name: string): ModuleContext => {
  const found = app.kernel.modules.find((m) => m.definition.name === name);
  if (!found) throw new Error(`${name} not running`);
  return found.context;
};
const scalar = (query: string) =>
  Object.values(contextOf('orders').db.get<Record<string, number>>(sql.raw(query)))[0];
/** Orders and order-placed events staged: "nothing written" means both unchanged. */
const written = () => ({
  orders: scalar('SELECT COUNT(*) FROM orders_orders'),
  placed: scalar("SELECT COUNT(*) FROM kernel_outbox WHERE type = 'orders.order-placed'"),
});
const bearer = (sub: string) => ({ authorization: `Bearer ${app.jwt.sign({ sub, role: 'user' })}` });
const post = (payload: unknown, sub = 'alice', headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/orders',
    payload: payload as object,
    headers: { ...bearer(sub), ...headers },
  });
const terminal = async (id: string, sub = 'alice') =>
  eventually(async () => {
    const order = (await app.inject({ url: `/orders/${id}`, headers: bearer(sub) })).json();
    expect(order.status).not.toBe('pending');
    return order;
  });

const admin = () => ({ authorization: `Bearer ${app.jwt.sign({ sub: 'admin', role: 'admin' })}` });
/** Charges the real payments module recorded for a user. */
const charges = async (sub: string) =>
  (await allPages<{ type: string }>(app, '/payments/account/events', bearer(sub))).filter(
    (e) => e.type === 'PaymentCharged',
  ).length;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'orders-e2e-'));
  const names = moduleCatalogue.map((m) => m.name);
  const env = { DATA_DIR: dataDir, LOG_LEVEL: 'silent', MODULES: 'orders,payments,inventory' };
  app = await buildApp(loadConfig(env, names));
  for (const [sku, priceCents] of [
    ['A', 250],
    ['B', 1000],
  ] as const) {
    const payload = { sku, name: sku, priceCents, stock: 10_000 };
    const created = await app.inject({
      method: 'POST',
      url: '/inventory/products',
      payload,
      headers: admin(),
    });
    expect(created.statusCode).toBe(201);
  }
  for (const sub of ['alice', 'bob']) {
    const payload = { amountCents: 1_000_000 };
    await app.inject({ method: 'POST', url: '/payments/deposits', payload, headers: bearer(sub) });
  }
  await eventually(() => expect(scalar('SELECT COUNT(*) FROM orders_catalogue')).toBe(2));
});
afterAll(async () => {
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('POST /orders', () => {
  it('prices the order from the catalogue and answers 202 pending; the saga confirms it', async () => {
    const response = await post({
      items: [
        { sku: 'A', quantity: 2 },
        { sku: 'B', quantity: 1 },
      ],
    });
    expect(response.statusCode).toBe(202);
    const body = response.json();
    expect(body).toEqual({ id: expect.any(String), status: 'pending', totalCents: 1500 });
    const order = await terminal(body.id);
    expect(order).toMatchObject({
      id: body.id,
      userId: 'alice',
      status: 'confirmed',
      totalCents: 1500,
      items: [
        { sku: 'A', quantity: 2, priceCents: 250 },
        { sku: 'B', quantity: 1, priceCents: 1000 },
      ],
    });
    expect(order.reason).toBeUndefined();
    expect(Date.parse(order.updatedAt)).toBeGreaterThanOrEqual(Date.parse(order.createdAt));
  });

  it('merges lines of the same sku', async () => {
    const response = await post({
      items: [
        { sku: 'A', quantity: 1 },
        { sku: 'A', quantity: 3 },
      ],
    });
    expect(response.json().totalCents).toBe(1000);
    const order = await terminal(response.json().id);
    expect(order.items).toEqual([{ sku: 'A', quantity: 4, priceCents: 250 }]);
  });

  it('holds merged lines to the per-line limit: 1000 units of a sku in all, else 400 naming it', async () => {
    const before = written();
    const over = await post({
      items: [
        { sku: 'A', quantity: 600 },
        { sku: 'B', quantity: 1 },
        { sku: 'A', quantity: 401 },
      ],
    });
    expect(over.statusCode).toBe(400);
    expect(over.headers['content-type']).toContain('application/problem+json');
    expect(over.json()).toMatchObject({ status: 400, code: 'ORDERS_QUANTITY_OVER_LIMIT' });
    expect(over.json().detail).toContain('A (1001)');
    expect(over.json().detail).not.toContain('B');
    // the case: 100 lines of 1000 units of one sku are not one line of 100000
    const hundredLines = Array.from({ length: 100 }, () => ({ sku: 'B', quantity: 1000 }));
    const flood = await post({ items: hundredLines });
    expect(flood.statusCode).toBe(400);
    expect(flood.json().detail).toContain('B (100000)');
    expect(written()).toEqual(before);

    const atTheLimit = await post({
      items: [
        { sku: 'A', quantity: 999 },
        { sku: 'A', quantity: 1 },
      ],
    });
    expect(atTheLimit.statusCode).toBe(202);
    expect((await terminal(atTheLimit.json().id)).items).toEqual([
      { sku: 'A', quantity: 1000, priceCents: 250 },
    ]);
  });

  it('refuses an unknown sku with 400 ORDERS_UNKNOWN_SKU naming it, and writes nothing', async () => {
    const before = written();
    const response = await post({
      items: [
        { sku: 'A', quantity: 1 },
        { sku: 'NOPE-1', quantity: 1 },
      ],
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ status: 400, code: 'ORDERS_UNKNOWN_SKU' });
    expect(response.json().detail).toContain('NOPE-1');
    expect(written()).toEqual(before);
  });

  it.each([
    ['an unknown top-level field', { items: [{ sku: 'A', quantity: 1 }], coupon: 'X' }],
    ['an unknown line field', { items: [{ sku: 'A', quantity: 1, priceCents: 1 }] }],
    ['quantity 0', { items: [{ sku: 'A', quantity: 0 }] }],
    ['quantity 1001', { items: [{ sku: 'A', quantity: 1001 }] }],
    ['a fractional quantity', { items: [{ sku: 'A', quantity: 1.5 }] }],
    ['a quantity as a string (not coerced)', { items: [{ sku: 'A', quantity: '2' }] }],
    ['no items', { items: [] }],
    ['101 items', { items: Array.from({ length: 101 }, (_, i) => ({ sku: `S${i}`, quantity: 1 })) }],
    ['a missing items field', {}],
    ['an empty sku', { items: [{ sku: '', quantity: 1 }] }],
  ])('answers %s with 400 HTTP_VALIDATION and writes nothing', async (_name, payload) => {
    const before = written();
    const response = await post(payload);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ status: 400, code: 'HTTP_VALIDATION' });
    expect(response.json().errors.length).toBeGreaterThan(0);
    expect(written()).toEqual(before);
  });

  it('answers any bad body with 400 and writes nothing (property)', async () => {
    const line = fc.record(
      {
        sku: fc.oneof(fc.string(), fc.integer(), fc.constant('A')),
        quantity: fc.oneof(fc.integer(), fc.double(), fc.string()),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      fc.anything(),
      fc.record({ items: fc.array(line, { maxLength: 120 }) }),
      fc.record({ items: fc.array(line, { maxLength: 3 }), extra: fc.anything() }),
    );
    const isGood = (value: unknown) =>
      typeof value === 'object' &&
      value !== null &&
      Object.keys(value).join() === 'items' &&
      Array.isArray((value as { items: unknown }).items) &&
      (value as { items: unknown[] }).items.every((l) => {
        const { sku, quantity } = l as { sku: unknown; quantity: unknown };
        return (sku === 'A' || sku === 'B') && Number.isInteger(quantity);
      });
    const before = written();
    await fc.assert(
      fc.asyncProperty(
        body.filter((b) => !isGood(b)),
        async (payload) => {
          const response = await app.inject({
            method: 'POST',
            url: '/orders',
            headers: { ...bearer('alice'), 'content-type': 'application/json' },
            payload: JSON.stringify(payload) ?? 'undefined',
          });
          expect(response.statusCode).toBe(400);
          expect(response.json().code).toMatch(
            /^(HTTP_VALIDATION|HTTP_INVALID_JSON|ORDERS_UNKNOWN_SKU|ORDERS_QUANTITY_OVER_LIMIT)$/,
          );
        },
      ),
      { numRuns: 150 },
    );
    expect(written()).toEqual(before);
  });
});

describe('Idempotency-Key', () => {
  it('answers the same order again for the same user and key: one order, one charge', async () => {
    const charged = await charges('alice');
    const payload = { items: [{ sku: 'B', quantity: 2 }] };
    const first = await post(payload, 'alice', { 'idempotency-key': 'key-1' });
    const again = await post(payload, 'alice', { 'idempotency-key': 'key-1' });
    expect(first.statusCode).toBe(202);
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual(first.json());
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(scalar("SELECT COUNT(*) FROM orders_orders WHERE idempotency_key = 'key-1'")).toBe(1);
    await terminal(first.json().id);
    const third = await post(payload, 'alice', { 'idempotency-key': 'key-1' });
    expect(third.json().id).toBe(first.json().id);
    expect(await charges('alice')).toBe(charged + 1);
  });

  it('keeps keys apart per user, and refuses a key reused for another body with 422', async () => {
    const payload = { items: [{ sku: 'A', quantity: 1 }] };
    const alice = await post(payload, 'alice', { 'idempotency-key': 'shared' });
    const bob = await post(payload, 'bob', { 'idempotency-key': 'shared' });
    expect(bob.json().id).not.toBe(alice.json().id);
    const before = written();
    const other = await post({ items: [{ sku: 'A', quantity: 5 }] }, 'alice', {
      'idempotency-key': 'shared',
    });
    expect(other.statusCode).toBe(422);
    expect(other.json().code).toBe('ORDERS_IDEMPOTENCY_KEY_REUSED');
    expect(written()).toEqual(before);
  });
});

describe('reading orders', () => {
  it("answers 404 ORDERS_NOT_FOUND for another user's order, and lists only the caller's", async () => {
    const mine = (await post({ items: [{ sku: 'A', quantity: 1 }] }, 'bob')).json().id;
    for (const url of [`/orders/${mine}`, `/orders/${mine}/timeline`]) {
      const response = await app.inject({ url, headers: bearer('alice') });
      expect(response.statusCode).toBe(404);
      expect(response.json().code).toBe('ORDERS_NOT_FOUND');
    }
    expect((await app.inject({ url: `/orders/${mine}`, headers: bearer('bob') })).statusCode).toBe(200);
    const aliceOrders = await allPages<{ id: string; userId: string }>(app, '/orders', bearer('alice'));
    expect(aliceOrders.length).toBeGreaterThan(0);
    expect(aliceOrders.every((o) => o.userId === 'alice')).toBe(true);
    expect(aliceOrders.map((o) => o.id)).not.toContain(mine);
  });

  it('answers 404 for an order that does not exist', async () => {
    const response = await app.inject({ url: '/orders/nope', headers: bearer('alice') });
    expect(response.statusCode).toBe(404);
  });

  it.each([
    ['POST', '/orders'],
    ['GET', '/orders'],
    ['GET', '/orders/x'],
    ['GET', '/orders/x/timeline'],
  ] as const)('answers 401 to %s %s without a valid token, even with a bad body', async (method, url) => {
    const before = written();
    const none = await app.inject({ method, url, ...(method === 'POST' ? { payload: { bad: 1 } } : {}) });
    expect(none.statusCode).toBe(401);
    expect(none.json().code).toBe('AUTH_INVALID_TOKEN');
    const token = bearer('alice').authorization;
    const tampered = await app.inject({ method, url, headers: { authorization: `${token.slice(0, -2)}xx` } });
    expect(tampered.statusCode).toBe(401);
    expect(written()).toEqual(before);
  });
});
