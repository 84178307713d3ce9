import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpApp, loadConfig } from '../../kernel/index.js';
import { createHost } from '../../kernel/testing/index.js';
import { webhooksModule } from './index.js';

/** The webhooks HTTP API with WEBHOOKS_ALLOW_PRIVATE unset (the default): what a user sees. */

let app: HttpApp;
let dataDir: string;
/** A public address: no DNS needed, and nothing is ever sent there (no event reaches it here). */
const PUBLIC_URL = 'https://93.184.215.14/hook';

const token = (sub: string, role: 'user' | 'admin' = 'user') => app.jwt.sign({ sub, role });
const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, sub?: string, payload?: object) => {
  const headers = sub ? { authorization: `Bearer ${token(sub, sub === 'admin' ? 'admin' : 'user')}` } : {};
  const response = await app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
  return { status: response.statusCode, body: response.body ? response.json() : undefined };
};
const create = (sub: string, url: string, events: string[] = ['orders.order-confirmed']) =>
  call('POST', '/webhooks', sub, { url, events });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'webhooks-api-'));
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, ['webhooks']);
  app = await createHost(config, { catalogue: [webhooksModule] });
});
afterAll(async () => {
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('webhooks API', () => {
  it('creates a webhook with its secret, lists it without the secret, and deletes it', async () => {
    const events = ['orders.order-confirmed', 'payments.payment-completed', 'orders.order-confirmed'];
    const created = await create('ann', PUBLIC_URL, events);
    expect(created).toEqual({
      status: 201,
      body: { id: expect.any(String), secret: expect.stringMatching(/^whsec_/) },
    });
    const { id } = created.body;
    const listed = await call('GET', '/webhooks', 'ann');
    expect(listed.body).toEqual({
      items: [
        {
          id,
          url: PUBLIC_URL,
          events: ['orders.order-confirmed', 'payments.payment-completed'],
          createdAt: expect.any(String),
        },
      ],
      next: null,
    });
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret);
    expect(await call('GET', `/webhooks/${id}/deliveries`, 'ann')).toEqual({
      status: 200,
      body: { items: [], next: null },
    });
    expect((await call('DELETE', `/webhooks/${id}`, 'ann')).status).toBe(204);
    expect((await call('GET', '/webhooks', 'ann')).body.items).toEqual([]);
    expect((await call('DELETE', `/webhooks/${id}`, 'ann')).status).toBe(404);
  });

  it('refuses anonymous callers with 401 on every route', async () => {
    for (const [method, url] of [
      ['POST', '/webhooks'],
      ['GET', '/webhooks'],
      ['DELETE', '/webhooks/x'],
      ['GET', '/webhooks/x/deliveries'],
    ] as const) {
      const reply = await call(method, url, undefined, method === 'POST' ? { url: PUBLIC_URL } : undefined);
      expect(reply, `${method} ${url}`).toMatchObject({ status: 401, body: { code: 'AUTH_INVALID_TOKEN' } });
    }
  });

  it("answers another user's webhook with 404, like one that does not exist, and leaves it alone", async () => {
    const { id } = (await create('ann', PUBLIC_URL)).body;
    const theirs = await call('GET', `/webhooks/${id}/deliveries`, 'bob');
    const nobody = await call('GET', '/webhooks/no-such-id/deliveries', 'bob');
    expect(theirs).toMatchObject({ status: 404, body: { code: 'WEBHOOKS_NOT_FOUND' } });
    expect(nobody.body.code).toBe(theirs.body.code);
    expect(await call('DELETE', `/webhooks/${id}`, 'bob')).toMatchObject({ status: 404 });
    expect((await call('GET', '/webhooks', 'bob')).body.items).toEqual([]);
    expect((await call('GET', '/webhooks', 'ann')).body.items.map((w: { id: string }) => w.id)).toContain(id);
  });

  it('refuses unknown event types and commands with 400 WEBHOOKS_UNKNOWN_EVENT naming them', async () => {
    const unknown = await create('ann', PUBLIC_URL, ['orders.order-confirmed', 'orders.order-eaten']);
    expect(unknown).toMatchObject({ status: 400, body: { code: 'WEBHOOKS_UNKNOWN_EVENT' } });
    expect(unknown.body.detail).toContain('orders.order-eaten');
    const command = await create('ann', PUBLIC_URL, ['payments.charge-payment']);
    expect(command).toMatchObject({ status: 400, body: { code: 'WEBHOOKS_UNKNOWN_EVENT' } });
    expect(command.body.detail).toContain('a command, not an event');
  });

  it('keeps events about no user (product events) for admins: 403 for a user', async () => {
    const user = await create('cy', PUBLIC_URL, ['inventory.product-created']);
    expect(user).toMatchObject({ status: 403, body: { code: 'WEBHOOKS_EVENT_NOT_ALLOWED' } });
    expect((await call('GET', '/webhooks', 'cy')).body.items).toEqual([]);
    expect((await create('admin', PUBLIC_URL, ['inventory.product-created'])).status).toBe(201);
  });

  it('refuses unknown fields and values of the wrong type (400, never coerced)', async () => {
    const extra = await call('POST', '/webhooks', 'dan', {
      url: PUBLIC_URL,
      events: ['orders.order-confirmed'],
      x: 1,
    });
    expect(extra).toMatchObject({ status: 400, body: { code: 'HTTP_VALIDATION', errors: [{ path: '/x' }] } });
    for (const body of [
      { url: PUBLIC_URL, events: 'orders.order-confirmed' },
      { url: PUBLIC_URL, events: [] },
      { url: 42, events: ['orders.order-confirmed'] },
      { events: ['orders.order-confirmed'] },
    ]) {
      expect(await call('POST', '/webhooks', 'dan', body), JSON.stringify(body)).toMatchObject({
        status: 400,
      });
    }
    expect((await call('GET', '/webhooks', 'dan')).body.items).toEqual([]);
  });

  it.each([
    ['http://127.0.0.1:8080/hook', 'loopback'],
    ['http://localhost:8080/hook', 'a name resolving to loopback'],
    ['http://10.1.2.3/hook', 'private'],
    ['http://172.16.5.4/hook', 'private'],
    ['http://192.168.0.10/hook', 'private'],
    ['http://169.254.169.254/latest/meta-data', 'link-local (cloud metadata)'],
    ['http://100.64.0.1/hook', 'carrier-grade NAT'],
    ['http://0.0.0.0/hook', 'this host'],
    ['http://[::1]/hook', 'IPv6 loopback'],
    ['http://[fe80::1]/hook', 'IPv6 link-local'],
    ['http://[fd00::1]/hook', 'IPv6 unique local'],
    ['http://[::ffff:127.0.0.1]/hook', 'IPv4-mapped loopback'],
    ['http://2130706433/hook', 'loopback written as one number'],
  ])('refuses %s (%s) with 400 WEBHOOKS_PRIVATE_TARGET', async (url) => {
    const reply = await create('eve', url);
    expect(reply).toMatchObject({ status: 400, body: { code: 'WEBHOOKS_PRIVATE_TARGET' } });
    expect((await call('GET', '/webhooks', 'eve')).body.items).toEqual([]);
  });

  it.each(['ftp://93.184.215.14/x', 'javascript:alert(1)', 'not a url', 'https://u:p@93.184.215.14/'])(
    'refuses %s with 400 WEBHOOKS_INVALID_URL',
    async (url) => {
      expect(await create('eve', url)).toMatchObject({ status: 400, body: { code: 'WEBHOOKS_INVALID_URL' } });
    },
  );
});

describe('webhooks per user', () => {
  const MAX = 20; // WEBHOOKS_PER_USER_MAX unset: the default
  const countOf = async (sub: string) => (await call('GET', '/webhooks?limit=100', sub)).body.items.length;

  it('refuses a webhook past WEBHOOKS_PER_USER_MAX with 409 WEBHOOKS_LIMIT_REACHED, until one is deleted', async () => {
    const ids: string[] = [];
    for (let i = 0; i < MAX; i++) ids.push((await create('max', `${PUBLIC_URL}/${i}`)).body.id);
    const refused = await create('max', `${PUBLIC_URL}/one-more`);
    expect(refused).toMatchObject({ status: 409, body: { status: 409, code: 'WEBHOOKS_LIMIT_REACHED' } });
    expect(refused.body.detail).toContain(`(${MAX})`);
    expect(await countOf('max')).toBe(MAX);
    expect((await create('max-neighbour', PUBLIC_URL)).status).toBe(201); // the cap is per user
    expect((await call('DELETE', `/webhooks/${ids[0]}`, 'max')).status).toBe(204);
    expect((await create('max', `${PUBLIC_URL}/instead`)).status).toBe(201);
    expect((await create('max', `${PUBLIC_URL}/and-again`)).status).toBe(409);
  });

  it('holds the cap under concurrent creates: the count and the insert share one transaction', async () => {
    // Routing takes a broker round trip: every request passes the early check before any commits.
    const transport = app.kernel.transport;
    const route = transport.route;
    transport.route = async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return route.apply(transport, args);
    };
    const replies = await Promise.all(
      Array.from({ length: MAX + 10 }, (_, i) => create('rush', `${PUBLIC_URL}/${i}`)),
    ).finally(() => {
      transport.route = route;
    });
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(MAX);
    expect(statuses.filter((s) => s === 409)).toHaveLength(10);
    expect(await countOf('rush')).toBe(MAX);
  });
});

describe('webhooks API when the bus cannot route', () => {
  it('answers 503 with retry-after and stores nothing when the transport does not take the new types', async () => {
    const headers = { authorization: `Bearer ${token('cy')}` };
    const post = () =>
      app.inject({
        method: 'POST',
        url: '/webhooks',
        headers,
        payload: { url: PUBLIC_URL, events: ['payments.payment-failed'] },
      });
    const transport = app.kernel.transport;
    const route = transport.route;
    transport.route = async () => {
      throw new Error('broker away');
    };
    try {
      const refused = await post();
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe('5');
      expect(refused.json()).toMatchObject({ status: 503, code: 'WEBHOOKS_BUS_UNAVAILABLE' });
      expect((await call('GET', '/webhooks', 'cy')).body.items).toEqual([]);
    } finally {
      transport.route = route;
    }
    expect((await post()).statusCode).toBe(201); // the same request, once the bus routes again
  });
});
