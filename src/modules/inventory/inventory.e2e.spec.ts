import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { badJwts, TEST_JWT_SECRET, validJwt } from '../../../test/support/module-testing.js';
import { type HttpApp, loadConfig } from '../../kernel/index.js';
import { createHost, jsonObject } from '../../kernel/testing/index.js';
import { inventoryModule } from './index.js';

describe('inventory over HTTP', () => {
  let app: HttpApp;
  let dataDir: string;
  const admin = { authorization: `Bearer ${validJwt({ sub: 'admin-1', role: 'admin' })}` };
  const user = { authorization: `Bearer ${validJwt({ sub: 'user-1', role: 'user' })}` };
  const db = () => app.kernel.modules.find((m) => m.definition.name === 'inventory')?.context.db;
  /** Products and outbox rows: what a refused request must leave unchanged. */
  const written = () => ({
    products: db()?.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM inventory_products`)?.n,
    outbox: db()?.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM kernel_outbox`)?.n,
    state: JSON.stringify(db()?.all(sql`SELECT * FROM inventory_products ORDER BY sku`)),
  });
  const outboxData = (type: string) =>
    (
      db()?.all<{ envelope: string }>(
        sql`SELECT envelope FROM kernel_outbox WHERE type = ${type} ORDER BY seq`,
      ) ?? []
    ).map((row) => JSON.parse(row.envelope).data);
  const post = (payload: unknown, headers: Record<string, string> = admin) =>
    app.inject({ method: 'POST', url: '/inventory/products', payload: payload as object, headers });
  const patch = (sku: string, payload: unknown, headers: Record<string, string> = admin) =>
    app.inject({ method: 'PATCH', url: `/inventory/products/${sku}`, payload: payload as object, headers });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'inventory-e2e-'));
    const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', JWT_SECRET: TEST_JWT_SECRET }, [
      'inventory',
    ]);
    app = await createHost(config, { catalogue: [inventoryModule] });
  });
  afterAll(async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates a product (admin) and publishes its full state', async () => {
    const response = await post({ sku: 'apple', name: 'Apple', priceCents: 120, stock: 10 });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({ sku: 'apple', name: 'Apple', priceCents: 120, stock: 10, reserved: 0 });
    expect(outboxData('inventory.product-created')).toEqual([
      { sku: 'apple', name: 'Apple', priceCents: 120, stock: 10, reserved: 0 },
    ]);
  });

  it('refuses a taken sku with 409 INVENTORY_SKU_TAKEN and changes nothing', async () => {
    await post({ sku: 'pear', name: 'Pear', priceCents: 90, stock: 1 });
    const before = written();
    const response = await post({ sku: 'pear', name: 'Other', priceCents: 1, stock: 0 });
    expect(response.statusCode).toBe(409);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ status: 409, code: 'INVENTORY_SKU_TAKEN' });
    expect(written()).toEqual(before);
  });

  it('updates price and stock (admin) and publishes the full new state', async () => {
    await post({ sku: 'plum', name: 'Plum', priceCents: 50, stock: 5 });
    const price = await patch('plum', { priceCents: 55 });
    expect(price.statusCode).toBe(200);
    expect(price.json()).toEqual({ sku: 'plum', name: 'Plum', priceCents: 55, stock: 5, reserved: 0 });
    const both = await patch('plum', { priceCents: 60, stock: 0 });
    expect(both.json()).toEqual({ sku: 'plum', name: 'Plum', priceCents: 60, stock: 0, reserved: 0 });
    expect(outboxData('inventory.product-updated')).toEqual([price.json(), both.json()]);
  });

  it('answers 404 for an unknown sku', async () => {
    const update = await patch('nope', { stock: 1 });
    expect(update.statusCode).toBe(404);
    expect(update.json()).toMatchObject({ code: 'INVENTORY_PRODUCT_NOT_FOUND' });
    const read = await app.inject('/inventory/products/nope');
    expect(read.statusCode).toBe(404);
    expect(read.json()).toMatchObject({ code: 'INVENTORY_PRODUCT_NOT_FOUND' });
  });

  it('lists and reads products without a token', async () => {
    const one = await app.inject('/inventory/products/apple');
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual({ sku: 'apple', name: 'Apple', priceCents: 120, stock: 10, reserved: 0 });
    const all = await app.inject('/inventory/products');
    expect(all.statusCode).toBe(200);
    expect(all.json().items.map((p: { sku: string }) => p.sku)).toEqual(['apple', 'pear', 'plum']);
    expect(all.json().next).toBeNull();
  });

  it('answers 401 on admin routes without a valid token, and 403 for a non-admin', async () => {
    const before = written();
    const body = { sku: 'kiwi', name: 'Kiwi', priceCents: 10, stock: 1 };
    expect((await post(body, {})).statusCode).toBe(401);
    for (const [name, token] of Object.entries(badJwts({ sub: 'admin-1', role: 'admin' }))) {
      const created = await post(body, { authorization: `Bearer ${token}` });
      expect(created.statusCode, name).toBe(401);
      expect(created.json(), name).toMatchObject({ code: 'AUTH_INVALID_TOKEN' });
      expect(
        (await patch('apple', { stock: 1 }, { authorization: `Bearer ${token}` })).statusCode,
        name,
      ).toBe(401);
    }
    const forbidden = await post(body, user);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ code: 'AUTH_ADMIN_ONLY' });
    expect((await patch('apple', { stock: 1 }, user)).statusCode).toBe(403);
    expect(written()).toEqual(before);
  });

  it.each([
    ['an unknown field', { sku: 'x1', name: 'X', priceCents: 1, stock: 1, discount: 5 }],
    ['a price given as a string (not coerced)', { sku: 'x1', name: 'X', priceCents: '100', stock: 1 }],
    ['a stock given as a string (not coerced)', { sku: 'x1', name: 'X', priceCents: 1, stock: '1' }],
    ['a zero price', { sku: 'x1', name: 'X', priceCents: 0, stock: 1 }],
    ['a fractional price', { sku: 'x1', name: 'X', priceCents: 1.5, stock: 1 }],
    ['a negative stock', { sku: 'x1', name: 'X', priceCents: 1, stock: -1 }],
    ['a missing name', { sku: 'x1', priceCents: 1, stock: 1 }],
    ['a sku with a slash', { sku: 'a/b', name: 'X', priceCents: 1, stock: 1 }],
  ])('refuses a product with %s: 400, nothing written', async (_name, payload) => {
    const before = written();
    const response = await post(payload);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ status: 400, code: 'HTTP_VALIDATION' });
    expect(written()).toEqual(before);
  });

  it.each([
    ['an empty body', {}],
    ['an unknown field', { stock: 1, name: 'renamed' }],
    ['a price as a string', { priceCents: '100' }],
    ['a stock of null', { stock: null }],
  ])('refuses an update with %s: 400, nothing written', async (_name, payload) => {
    const before = written();
    const response = await patch('apple', payload);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'HTTP_VALIDATION' });
    expect(written()).toEqual(before);
  });

  it('answers every generated bad body with 400 problem+json and writes nothing', async () => {
    // values of the wrong type (a string is right for sku and name; an integral double such as -0
    // would be a valid integer)
    const notString = fc.oneof(
      fc.double().filter((n) => !Number.isInteger(n)),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.integer()),
      jsonObject(),
    );
    const notInteger = fc.oneof(
      fc.string(),
      fc.double().filter((n) => !Number.isInteger(n)),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.integer()),
      jsonObject(),
    );
    const wrongFor = (key: string) => (key === 'sku' || key === 'name' ? notString : notInteger);
    const valid = {
      sku: fc.constant('gen-1'),
      name: fc.constant('Gen'),
      priceCents: fc.constant(5),
      stock: fc.constant(1),
    };
    const field = fc.constantFrom('sku', 'name', 'priceCents', 'stock');
    const badCreate = fc.oneof(
      // one field of the wrong type
      field.chain((key) =>
        wrongFor(key).map((value) => ({ sku: 'gen-1', name: 'Gen', priceCents: 5, stock: 1, [key]: value })),
      ),
      // one field missing
      field.map((key) => {
        const body: Record<string, unknown> = { sku: 'gen-1', name: 'Gen', priceCents: 5, stock: 1 };
        delete body[key];
        return body;
      }),
      // an extra key
      fc.record({ ...valid, extra: notInteger }),
      // out of range numbers
      fc.record({ ...valid, priceCents: fc.integer({ max: 0 }) }),
      fc.record({ ...valid, stock: fc.integer({ max: -1 }) }),
    );
    const before = written();
    await fc.assert(
      fc.asyncProperty(badCreate, async (body) => {
        const response = await post(body);
        expect(response.statusCode, JSON.stringify(body)).toBe(400);
        expect(response.headers['content-type']).toContain('application/problem+json');
        expect(response.json()).toMatchObject({ status: 400, code: 'HTTP_VALIDATION' });
      }),
      { numRuns: 150 },
    );
    const badUpdate = fc.oneof(
      fc.record({ priceCents: notInteger }),
      fc.record({ stock: notInteger }),
      fc.record({ stock: fc.nat(), other: notInteger }),
      fc.constant({}),
    );
    await fc.assert(
      fc.asyncProperty(badUpdate, async (body) => {
        const response = await patch('apple', body);
        expect(response.statusCode, JSON.stringify(body)).toBe(400);
        expect(response.json()).toMatchObject({ status: 400, code: 'HTTP_VALIDATION' });
      }),
      { numRuns: 100 },
    );
    expect(written()).toEqual(before);
  });
});
