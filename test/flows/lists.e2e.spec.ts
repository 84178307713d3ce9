/**
 * Every list that can grow answers a page `{ items, next }` with `?limit=&cursor=`, over HTTP with
 * the real modules; and a user places a bounded number of orders per minute.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, moduleCatalogue } from '../../src/app.js';
import { DEFAULT_PAGE_SIZE, type HttpApp, loadConfig, MAX_PAGE_SIZE } from '../../src/kernel/index.js';
import { eventually } from '../../src/kernel/testing/index.js';

const ORDERS_PER_MINUTE = 10;

let app: HttpApp;
let dataDir: string;
let webhookId: string;

const bearer = (sub: string, role: 'user' | 'admin' = 'user') => ({
  authorization: `Bearer ${app.jwt.sign({ sub, role })}`,
});
const get = (url: string, sub = 'pager', role: 'user' | 'admin' = 'user') =>
  app.inject({ url, headers: bearer(sub, role) });
const placeOrder = (sub: string, payload: unknown = { items: [{ sku: 'PEN', quantity: 1 }] }) =>
  app.inject({ method: 'POST', url: '/orders', payload: payload as object, headers: bearer(sub) });
const catalogued = () => {
  const orders = app.kernel.modules.find((m) => m.definition.name === 'orders');
  return orders?.context.db.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM orders_catalogue`)?.n ?? 0;
};
interface Page {
  readonly items: { id: string }[];
  readonly next: string | null;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'lists-flow-'));
  const env = {
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ORDERS_PER_USER_PER_MINUTE: String(ORDERS_PER_MINUTE),
    WEBHOOKS_ALLOW_PRIVATE: '1',
  };
  app = await buildApp(
    loadConfig(
      env,
      moduleCatalogue.map((m) => m.name),
    ),
  );
  // 25 products: more than a default page
  for (let i = 0; i < 25; i++) {
    const sku = i === 0 ? 'PEN' : `ITEM-${String(i).padStart(2, '0')}`;
    const payload = { sku, name: sku, priceCents: 100, stock: 1000 };
    const created = await app.inject({
      method: 'POST',
      url: '/inventory/products',
      payload,
      headers: bearer('admin', 'admin'),
    });
    expect(created.statusCode).toBe(201);
  }
  await eventually(() => expect(catalogued()).toBe(25));
  const hook = await app.inject({
    method: 'POST',
    url: '/webhooks',
    payload: { url: 'http://127.0.0.1:9/hooks', events: ['orders.order-cancelled'] },
    headers: bearer('pager'),
  });
  expect(hook.statusCode).toBe(201);
  webhookId = hook.json().id;
});
afterAll(async () => {
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Every list that can grow, and who may read it. */
const lists = () =>
  [
    ['/orders', 'user'],
    ['/notifications', 'user'],
    ['/payments/account/events', 'user'],
    ['/webhooks', 'user'],
    [`/webhooks/${webhookId}/deliveries`, 'user'],
    ['/inventory/products', 'user'],
    ['/admin/dead-letters', 'admin'],
    ['/admin/sagas', 'admin'],
  ] as const;

describe('every list that can grow', () => {
  it('answers a page { items, next }', async () => {
    for (const [url, role] of lists()) {
      const answer = await get(url, 'pager', role);
      expect(answer.statusCode, url).toBe(200);
      expect(answer.json(), url).toEqual({
        items: expect.any(Array),
        next: expect.toBeOneOf([null, expect.any(String)]),
      });
    }
  });

  it(`refuses a limit that is not an integer from 1 to ${MAX_PAGE_SIZE} with 400 naming it`, async () => {
    for (const [url, role] of lists()) {
      expect((await get(`${url}?limit=${MAX_PAGE_SIZE}`, 'pager', role)).statusCode, url).toBe(200);
      for (const limit of [String(MAX_PAGE_SIZE + 1), '0', '-1', 'ten', '2.5', '']) {
        const answer = await get(`${url}?limit=${limit}`, 'pager', role);
        expect(answer.statusCode, `${url} limit=${limit}`).toBe(400);
        expect(answer.headers['content-type']).toContain('application/problem+json');
        expect(answer.json()).toMatchObject({ code: 'HTTP_VALIDATION', errors: [{ path: '/limit' }] });
      }
    }
  });

  it('refuses a cursor it did not give out (made up, or of another list) with 400 HTTP_INVALID_CURSOR', async () => {
    const productsPage = (await get('/inventory/products?limit=1')).json() as Page;
    const ordersCursor = Buffer.from(JSON.stringify(['orders', Date.now(), 'x'])).toString('base64url');
    for (const [url, role] of lists()) {
      const foreign = url === '/inventory/products' ? ordersCursor : String(productsPage.next);
      for (const cursor of ['not-a-cursor', 'bm90IGpzb24', foreign]) {
        const answer = await get(`${url}?cursor=${encodeURIComponent(cursor)}`, 'pager', role);
        expect(answer.statusCode, `${url} cursor=${cursor}`).toBe(400);
        expect(answer.json()).toMatchObject({ status: 400, code: 'HTTP_INVALID_CURSOR' });
        expect(answer.json().detail).toMatch(/cursor/);
      }
    }
  });

  it('is documented so in /openapi.json: limit and cursor in, a page { items, next } out', async () => {
    const doc = (await app.inject('/openapi.json')).json();
    for (const [url] of lists()) {
      const path = url.replace(webhookId, '{id}');
      const operation = doc.paths[path]?.get;
      expect(operation, path).toBeDefined();
      const parameters = operation.parameters.filter((p: { in: string }) => p.in === 'query');
      expect(parameters, path).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            name: 'limit',
            schema: expect.objectContaining({ maximum: MAX_PAGE_SIZE }),
          }),
          expect.objectContaining({ name: 'cursor' }),
        ]),
      );
      const page = operation.responses['200'].content['application/json'].schema;
      expect(page, path).toMatchObject({
        required: ['items', 'next'],
        properties: { items: { type: 'array' }, next: expect.any(Object) },
      });
    }
  });
});

describe('paging through a list', () => {
  it(`gives ${DEFAULT_PAGE_SIZE} items without a limit, and the rest on the next page`, async () => {
    const first = (await get('/inventory/products')).json() as { items: { sku: string }[]; next: string };
    expect(first.items).toHaveLength(DEFAULT_PAGE_SIZE);
    const rest = (await get(`/inventory/products?cursor=${first.next}`)).json() as Page;
    expect(rest.items).toHaveLength(25 - DEFAULT_PAGE_SIZE);
    expect(rest.next).toBeNull();
  });

  it('cuts 5 orders into pages of 2, 2 and 1, newest first, each once, also while new ones arrive', async () => {
    const placed: string[] = [];
    for (let i = 0; i < 5; i++) {
      const answer = await placeOrder('pager');
      expect(answer.statusCode).toBe(202);
      placed.push(answer.json().id);
    }
    const whole = ((await get(`/orders?limit=${MAX_PAGE_SIZE}`)).json() as Page).items.map((o) => o.id);
    expect(whole).toHaveLength(5);
    expect([...whole].sort()).toEqual([...placed].sort());

    const pages: Page[] = [];
    let cursor: string | null = null;
    do {
      const page = (await get(`/orders?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json() as Page;
      pages.push(page);
      // a new order after each of the first two pages: newer than any cursor, so not in this walk
      if (pages.length <= 2) expect((await placeOrder('pager')).statusCode).toBe(202);
      cursor = page.next;
    } while (cursor !== null);
    expect(pages.map((page) => page.items.length)).toEqual([2, 2, 1]);
    expect(pages.map((page) => page.next === null)).toEqual([false, false, true]);
    expect(pages.flatMap((page) => page.items.map((o) => o.id))).toEqual(whole);
  });
});

describe('placing orders', () => {
  it(`allows ${ORDERS_PER_MINUTE} orders per user per minute, then 429 with retry-after, writing nothing`, async () => {
    // refused requests place nothing and count for nothing
    expect((await placeOrder('eager', { items: [] })).statusCode).toBe(400);
    expect((await placeOrder('eager', { items: [{ sku: 'NOPE', quantity: 1 }] })).statusCode).toBe(400);
    for (let i = 0; i < ORDERS_PER_MINUTE; i++) {
      const key = { 'idempotency-key': `eager-${i}` };
      const answer = await app.inject({
        method: 'POST',
        url: '/orders',
        payload: { items: [{ sku: 'PEN', quantity: 1 }] },
        headers: { ...bearer('eager'), ...key },
      });
      expect(answer.statusCode, `order ${i + 1}`).toBe(202);
    }
    const refused = await placeOrder('eager');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.json()).toMatchObject({ status: 429, code: 'ORDERS_RATE_LIMITED' });
    expect(refused.json().detail).toContain(`at most ${ORDERS_PER_MINUTE} orders per user per minute`);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);

    // a repeat of a placed order is not a new placement: still answered
    const repeat = await app.inject({
      method: 'POST',
      url: '/orders',
      payload: { items: [{ sku: 'PEN', quantity: 1 }] },
      headers: { ...bearer('eager'), 'idempotency-key': 'eager-0' },
    });
    expect(repeat.statusCode).toBe(202);
    expect(repeat.headers['idempotent-replayed']).toBe('true');
    // the limit is the user's: others place as usual
    expect((await placeOrder('calm')).statusCode).toBe(202);
    const eagerOrders = (await get(`/orders?limit=${MAX_PAGE_SIZE}`, 'eager')).json() as Page;
    expect(eagerOrders.items).toHaveLength(ORDERS_PER_MINUTE);
  });
});
