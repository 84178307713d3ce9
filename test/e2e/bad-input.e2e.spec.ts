/**
 * Bad input over every route of CONTRACT section 3 that this build serves (memory transport):
 * missing or forged tokens, non-admins on admin routes, unknown fields, wrong types (never
 * coerced), bodies over 1 MiB, other users' orders, and fast-check bodies for every body route.
 * Each is answered with the documented status and code as problem+json without a stack trace, and
 * nothing is written: the observable state (products, accounts and their event streams, orders,
 * notifications, analytics, outboxes, sagas, dead letters) is the same before and after.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  badTokens,
  E2eApp,
  expectNoStackTrace,
  expectProblem,
  expectValidationProblem,
  type Json,
  type Product,
  type Reply,
  type RequestOptions,
  randomClientAddress,
  randomId,
  signJwt,
  type User,
  uniqueSuffix,
} from './harness.js';

const RUNS = 25;
const MIB = 1024 * 1024;

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
type Access = 'public' | 'user' | 'admin';

interface Fixtures {
  readonly sku: string;
  readonly orderId: string;
}

interface RouteCase {
  readonly method: Method;
  /** As written in CONTRACT section 3. */
  readonly path: string;
  readonly access: Access;
  readonly url: (f: Fixtures) => string;
  /** A valid body (sent without a valid token or with a non-admin one only, when mutating). */
  readonly body?: (f: Fixtures) => unknown;
  /** Changes state when it succeeds: never sent with a token that may do it. */
  readonly mutating?: boolean;
}

const route = (
  method: Method,
  path: string,
  access: Access,
  extra: Partial<Omit<RouteCase, 'method' | 'path' | 'access'>> = {},
): RouteCase => ({ method, path, access, url: () => path, ...extra });

/** Every route of CONTRACT section 3. */
const ROUTES: readonly RouteCase[] = [
  route('POST', '/auth/register', 'public', { mutating: true }),
  route('POST', '/auth/login', 'public'),
  route('GET', '/users/me', 'user'),
  route('POST', '/inventory/products', 'admin', {
    mutating: true,
    body: () => ({ sku: `AUTH-${uniqueSuffix()}`, name: 'must not exist', priceCents: 100, stock: 1 }),
  }),
  route('PATCH', '/inventory/products/:sku', 'admin', {
    mutating: true,
    url: (f) => `/inventory/products/${f.sku}`,
    body: () => ({ priceCents: 12_345, stock: 777 }),
  }),
  route('GET', '/inventory/products', 'public'),
  route('GET', '/inventory/products/:sku', 'public', { url: (f) => `/inventory/products/${f.sku}` }),
  route('POST', '/payments/deposits', 'user', { mutating: true, body: () => ({ amountCents: 100 }) }),
  route('GET', '/payments/account', 'user'),
  route('GET', '/payments/account/events', 'user'),
  route('POST', '/orders', 'user', {
    mutating: true,
    body: (f) => ({ items: [{ sku: f.sku, quantity: 1 }] }),
  }),
  route('GET', '/orders', 'user'),
  route('GET', '/orders/:id', 'user', { url: (f) => `/orders/${f.orderId}` }),
  route('GET', '/orders/:id/timeline', 'user', { url: (f) => `/orders/${f.orderId}/timeline` }),
  route('GET', '/notifications', 'user'),
  route('GET', '/analytics/summary', 'admin'),
  route('POST', '/analytics/rebuild', 'admin', { mutating: true }),
  route('POST', '/webhooks', 'user', {
    mutating: true,
    body: () => ({ url: 'https://example.com/hook', events: ['orders.order-confirmed'] }),
  }),
  route('GET', '/webhooks', 'user'),
  route('DELETE', '/webhooks/:id', 'user', { mutating: true, url: () => `/webhooks/${randomId()}` }),
  route('GET', '/webhooks/:id/deliveries', 'user', { url: () => `/webhooks/${randomId()}/deliveries` }),
  route('GET', '/admin/dead-letters', 'admin'),
  route('POST', '/admin/dead-letters/:id/replay', 'admin', {
    mutating: true,
    url: () => `/admin/dead-letters/${randomId()}/replay`,
  }),
  route('POST', '/admin/dead-letters/replay', 'admin', { mutating: true, body: () => ({}) }),
  route('DELETE', '/admin/dead-letters/:id', 'admin', {
    mutating: true,
    url: () => `/admin/dead-letters/${randomId()}`,
  }),
  route('GET', '/admin/outbox', 'admin'),
  route('GET', '/admin/sagas', 'admin'),
  route('GET', '/admin', 'admin'),
  route('GET', '/metrics', 'public'),
  route('GET', '/health/live', 'public'),
  route('GET', '/health/ready', 'public'),
  route('GET', '/docs', 'public'),
  route('GET', '/openapi.json', 'public'),
  route('GET', '/asyncapi.json', 'public'),
];

const key = (r: RouteCase) => `${r.method} ${r.path}`;

describe('bad input over HTTP (memory)', () => {
  let app: E2eApp;
  let alice: User;
  let bob: User;
  let adminToken: string;
  let product: Product;
  let fixtures: Fixtures;
  const present = new Set<string>();
  let baseline: Json;

  const exists = (r: RouteCase) => present.has(key(r));
  const send = (r: RouteCase, options: RequestOptions = {}) =>
    app.call(r.method, r.url(fixtures), {
      ...(r.body && options.body === undefined && options.rawPayload === undefined
        ? { body: r.body(fixtures) }
        : {}),
      // Failed logins and sign-ups are limited per address: each request from a client of its own.
      remoteAddress: randomClientAddress(),
      ...options,
    });

  /** Everything a refused request must leave as it was, as seen over HTTP. */
  async function snapshot(): Promise<Json> {
    const get = async (url: string, token?: string) => {
      const reply = await app.call('GET', url, token ? { token } : {});
      return { status: reply.status, body: reply.body };
    };
    const outbox = await get('/admin/outbox', adminToken);
    if (Array.isArray(outbox.body)) {
      // Age moves with the clock; an event staged by a refused request shows in pending + published.
      outbox.body = outbox.body.map((m: Json) => ({ module: m.module, messages: m.pending + m.published }));
    }
    const perUser: Record<string, Json> = {};
    for (const [name, user] of [
      ['alice', alice],
      ['bob', bob],
    ] as const) {
      perUser[name] = {
        me: await get('/users/me', user.token),
        account: await get('/payments/account', user.token),
        events: await get('/payments/account/events', user.token),
        orders: await get('/orders', user.token),
        notifications: await get('/notifications', user.token),
        webhooks: await get('/webhooks', user.token),
      };
    }
    return {
      products: await get('/inventory/products'),
      summary: await get('/analytics/summary', adminToken),
      outbox,
      deadLetters: await get('/admin/dead-letters', adminToken),
      sagas: await get('/admin/sagas', adminToken),
      users: perUser,
    };
  }

  async function expectNothingWritten(): Promise<void> {
    expect(await snapshot()).toEqual(baseline);
  }

  beforeAll(async () => {
    app = await E2eApp.start();
    [alice, bob] = await Promise.all([app.registerUser('Alice'), app.registerUser('Bob')]);
    adminToken = await app.adminToken();
    product = await app.createProduct({ priceCents: 250, stock: 50, sku: `BAD-${uniqueSuffix()}` });
    await app.deposit(alice.token, 1000);
    fixtures = { sku: product.sku, orderId: randomId() };
    for (const r of ROUTES) {
      const reply = await send(r);
      if (!(reply.status === 404 && reply.body?.code === 'HTTP_NOT_FOUND')) present.add(key(r));
    }
    if (present.has('POST /orders')) {
      // An order of Alice's, for the "another user's order" checks.
      const { order } = await app.placeOrder(alice.token, [{ sku: product.sku, quantity: 1 }]);
      await app.waitForTerminal(alice.token, order.id);
      fixtures = { sku: product.sku, orderId: order.id };
    }
    const missing = ROUTES.filter((r) => !exists(r)).map(key);
    if (missing.length > 0)
      console.warn(`[e2e] routes of CONTRACT section 3 not served yet: ${missing.join(', ')}`);

    // The state every test must leave unchanged, once the setup's order flow has settled.
    let previous: Json;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const outbox = await app.call('GET', '/admin/outbox', { token: adminToken });
      const pending = Array.isArray(outbox.body) && outbox.body.some((m: Json) => m.pending > 0);
      const current = await snapshot();
      if (!pending && previous !== undefined && JSON.stringify(current) === JSON.stringify(previous)) break;
      if (Date.now() > deadline) throw new Error('the setup did not settle');
      previous = current;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    baseline = previous;
  }, 60_000);

  afterAll(async () => {
    await app?.close();
  });

  it('serves the core routes this suite needs', () => {
    for (const path of [
      'POST /auth/register',
      'POST /auth/login',
      'POST /inventory/products',
      'POST /payments/deposits',
      'POST /orders',
      'GET /orders/:id',
    ]) {
      expect(present.has(path), path).toBe(true);
    }
  });

  // ---- authentication and authorisation ----

  it.for(ROUTES.filter((r) => r.access !== 'public'))(
    '$method $path refuses a missing or invalid token with 401',
    async (r, { skip }) => {
      if (!exists(r)) return skip(`${key(r)} is not served`);
      for (const [kind, token] of Object.entries(badTokens(alice.token))) {
        const reply = await send(r, token === undefined ? {} : { token });
        expect(reply.status, `${kind}: ${reply.text}`).toBe(401);
        expectProblem(reply, 401);
      }
      // Not a bearer token at all.
      const basic = await send(r, {
        headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      });
      expectProblem(basic, 401);
      if (!r.mutating) {
        // The same request with a good token gets past authentication (the refusals can fail).
        const good = await send(r, { token: r.access === 'admin' ? adminToken : alice.token });
        expect([401, 403], good.text).not.toContain(good.status);
      }
      await expectNothingWritten();
    },
  );

  it.for(ROUTES.filter((r) => r.access === 'admin'))(
    '$method $path refuses a non-admin with 403',
    async (r, { skip }) => {
      if (!exists(r)) return skip(`${key(r)} is not served`);
      const reply = await send(r, { token: alice.token });
      expectProblem(reply, 403);
      await expectNothingWritten();
    },
  );

  it('refuses a validly signed token for a role that does not exist', async () => {
    const now = Math.floor(Date.now() / 1000);
    const forged = signJwt({ sub: alice.id, role: 'root', iat: now, exp: now + 600 });
    expectProblem(await app.call('GET', '/users/me', { token: forged }), 401);
  });

  // ---- body rules on every body route ----

  const BODY_ROUTES: readonly {
    path: string;
    method: Method;
    url: () => string;
    token: () => string;
    valid: () => Json;
  }[] = [
    {
      method: 'POST',
      path: '/auth/register',
      url: () => '/auth/register',
      token: () => '',
      valid: () => ({ email: `x-${uniqueSuffix()}@e2e.test`, password: 'long-enough-1', name: 'X' }),
    },
    {
      method: 'POST',
      path: '/auth/login',
      url: () => '/auth/login',
      token: () => '',
      valid: () => ({ email: alice.email, password: alice.password }),
    },
    {
      method: 'POST',
      path: '/inventory/products',
      url: () => '/inventory/products',
      token: () => adminToken,
      valid: () => ({ sku: `NEW-${uniqueSuffix()}`, name: 'n', priceCents: 100, stock: 1 }),
    },
    {
      method: 'PATCH',
      path: '/inventory/products/:sku',
      url: () => `/inventory/products/${product.sku}`,
      token: () => adminToken,
      valid: () => ({ priceCents: 999 }),
    },
    {
      method: 'POST',
      path: '/payments/deposits',
      url: () => '/payments/deposits',
      token: () => alice.token,
      valid: () => ({ amountCents: 100 }),
    },
    {
      method: 'POST',
      path: '/orders',
      url: () => '/orders',
      token: () => alice.token,
      valid: () => ({ items: [{ sku: product.sku, quantity: 1 }] }),
    },
    {
      method: 'POST',
      path: '/webhooks',
      url: () => '/webhooks',
      token: () => alice.token,
      valid: () => ({ url: 'https://example.com/hook', events: ['orders.order-confirmed'] }),
    },
    {
      method: 'POST',
      path: '/admin/dead-letters/replay',
      url: () => '/admin/dead-letters/replay',
      token: () => adminToken,
      valid: () => ({ consumer: 'nobody.none' }),
    },
  ];
  const bodyCall = (b: (typeof BODY_ROUTES)[number], options: RequestOptions) =>
    app.call(b.method, b.url(), {
      remoteAddress: randomClientAddress(),
      ...(b.token() ? { token: b.token() } : {}),
      ...options,
    });
  const served = (b: { method: Method; path: string }) => present.has(`${b.method} ${b.path}`);

  it.for(BODY_ROUTES)(
    '$method $path rejects unknown fields (400 with errors naming them)',
    async (b, { skip }) => {
      if (!served(b)) return skip('not served');
      const reply = await bodyCall(b, { body: { ...b.valid(), unexpectedField: 1 } });
      const problem = expectValidationProblem(reply);
      expect(
        problem.errors.some((e: Json) => String(e.path).includes('unexpectedField')),
        reply.text,
      ).toBe(true);
      await expectNothingWritten();
    },
  );

  it.for(BODY_ROUTES.filter((b) => !b.path.startsWith('/auth/')))(
    '$method $path refuses a missing token with 401 before looking at the body',
    async (b, { skip }) => {
      if (!served(b)) return skip('not served');
      // Without a token the caller learns nothing about the route's schema: 401, not 400.
      const reply = await app.call(b.method, b.url(), { body: { unexpectedField: 1 } });
      expectProblem(reply, 401);
      await expectNothingWritten();
    },
  );

  it.for(BODY_ROUTES)('$method $path answers a body over 1 MiB with 413', async (b, { skip }) => {
    if (!served(b)) return skip('not served');
    const reply = await bodyCall(b, { body: { ...b.valid(), padding: 'x'.repeat(MIB + 16) } });
    expectProblem(reply, 413, 'HTTP_BODY_TOO_LARGE');
    await expectNothingWritten();
  });

  it.for(BODY_ROUTES)('$method $path answers malformed JSON with 400', async (b, { skip }) => {
    if (!served(b)) return skip('not served');
    const reply = await bodyCall(b, { rawPayload: '{"items": [' });
    expectProblem(reply, 400, 'HTTP_INVALID_JSON');
    await expectNothingWritten();
  });

  const COERCION_CASES: [string, Record<string, unknown>][] = [
    ['POST /auth/register', { password: 12_345_678 }],
    ['POST /auth/register', { name: 42 }],
    ['POST /auth/login', { password: 12_345_678 }],
    ['POST /inventory/products', { priceCents: '100' }],
    ['POST /inventory/products', { stock: '5' }],
    ['POST /inventory/products', { priceCents: 99.5 }],
    ['POST /inventory/products', { priceCents: true }],
    ['PATCH /inventory/products/:sku', { priceCents: '100' }],
    ['PATCH /inventory/products/:sku', { stock: '1' }],
    ['PATCH /inventory/products/:sku', { stock: -1 }],
    ['POST /payments/deposits', { amountCents: '100' }],
    ['POST /payments/deposits', { amountCents: 1.5 }],
    ['POST /payments/deposits', { amountCents: [100] }],
    ['POST /payments/deposits', { amountCents: null }],
    ['POST /orders', { items: [{ sku: 'SKU_FIXTURE', quantity: '1' }] }],
    ['POST /orders', { items: [{ sku: 123, quantity: 1 }] }],
    ['POST /orders', { items: { sku: 'SKU_FIXTURE', quantity: 1 } }],
    ['POST /webhooks', { events: 'orders.order-confirmed' }],
    ['POST /admin/dead-letters/replay', { consumer: 5 }],
  ];

  it.for(COERCION_CASES)('%s does not coerce %o (400)', async ([path, patch], { skip }) => {
    const b = BODY_ROUTES.find((x) => `${x.method} ${x.path}` === path);
    if (!b || !served(b)) return skip('not served');
    const body = JSON.parse(
      JSON.stringify({ ...b.valid(), ...patch }).replaceAll('"SKU_FIXTURE"', JSON.stringify(product.sku)),
    );
    expectValidationProblem(await bodyCall(b, { body }));
    await expectNothingWritten();
  });

  // ---- other users, unknown things, queries ----

  it("answers another user's order with 404, the same as an order that does not exist", async ({ skip }) => {
    if (!present.has('GET /orders/:id')) return skip('GET /orders/:id is not served');
    for (const suffix of ['', '/timeline']) {
      const mine = await app.call('GET', `/orders/${fixtures.orderId}${suffix}`, { token: alice.token });
      expect(mine.status, mine.text).toBe(200);
      const theirs = expectProblem(
        await app.call('GET', `/orders/${fixtures.orderId}${suffix}`, { token: bob.token }),
        404,
      );
      const nobody = expectProblem(
        await app.call('GET', `/orders/${randomId()}${suffix}`, { token: bob.token }),
        404,
      );
      expect(theirs.code).toBe(nobody.code);
      expect(JSON.stringify(theirs)).not.toContain(alice.id);
    }
    const bobsOrders = await app.call('GET', '/orders', { token: bob.token });
    expect(bobsOrders.body).toEqual({ items: [], next: null });
    await expectNothingWritten();
  });

  it('answers unknown products and dead letters with 404', async () => {
    expectProblem(await app.call('GET', '/inventory/products/NOPE-404'), 404);
    expectProblem(
      await app.call('PATCH', '/inventory/products/NOPE-404', { token: adminToken, body: { priceCents: 5 } }),
      404,
    );
    expectProblem(
      await app.call('POST', `/admin/dead-letters/${randomId()}/replay`, { token: adminToken }),
      404,
    );
    expectProblem(await app.call('DELETE', `/admin/dead-letters/${randomId()}`, { token: adminToken }), 404);
    await expectNothingWritten();
  });

  it('answers documented conflicts: a taken email (409 USERS_EMAIL_TAKEN), a taken sku (409 INVENTORY_SKU_TAKEN)', async () => {
    expectProblem(
      await app.call('POST', '/auth/register', {
        body: { email: bob.email, password: 'another-password', name: 'B2' },
      }),
      409,
      'USERS_EMAIL_TAKEN',
    );
    expectProblem(
      await app.call('POST', '/inventory/products', {
        token: adminToken,
        body: { sku: product.sku, name: 'dup', priceCents: 1, stock: 1 },
      }),
      409,
      'INVENTORY_SKU_TAKEN',
    );
    await expectNothingWritten();
  });

  it('refuses a malformed `at` and unknown query parameters on GET /payments/account', async () => {
    for (const at of ['yesterday', '2025-02-30T00:00:00Z', '2025-01-01', '']) {
      const reply = await app.call('GET', `/payments/account?at=${encodeURIComponent(at)}`, {
        token: alice.token,
      });
      expectProblem(reply, 400);
    }
    expectProblem(await app.call('GET', '/payments/account?foo=1', { token: alice.token }), 400);
  });

  it('rate-limits failed logins per account and client: past 5 failures, 429 with retry-after, whatever the password', async () => {
    const address = randomClientAddress();
    const attempt = (body: Json) => app.call('POST', '/auth/login', { remoteAddress: address, body });
    const wrong = { email: alice.email, password: 'wrong-password' };
    // A wrong password is a 401 problem (one scrypt); refused bodies do not count.
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const failed = await attempt(wrong);
      expectProblem(failed, 401, 'USERS_INVALID_CREDENTIALS');
      statuses.push(failed.status, (await attempt({ email: alice.email })).status);
    }
    expect(statuses, String(statuses)).toEqual([401, 400, 401, 400, 401, 400, 401, 400, 401, 400]);
    for (const body of [wrong, { email: alice.email, password: alice.password }]) {
      const limited = await attempt(body);
      expectProblem(limited, 429, 'HTTP_RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(15 * 60);
    }
    // Another client still logs in to the account.
    expect(await app.login(alice.email, alice.password, randomClientAddress())).toEqual(expect.any(String));
  });

  // ---- generated bodies (fast-check) ----

  /** Every answer to a generated body: the status and code the contract documents. */
  async function expectRefused(reply: Reply, expected: { status: number; code?: string }): Promise<void> {
    if (expected.code === 'HTTP_VALIDATION') expectValidationProblem(reply);
    else expectProblem(reply, expected.status, expected.code);
    expectNoStackTrace(reply);
  }

  type Case = { body: unknown; status: number; code?: string };
  const validation = (body: unknown): Case => ({ body, status: 400, code: 'HTTP_VALIDATION' });

  async function checkProperty(
    path: string,
    cases: fc.Arbitrary<Case>,
    call: (body: unknown) => Promise<Reply>,
  ): Promise<void> {
    const [method, url] = path.split(' ') as [Method, string];
    if (!present.has(`${method} ${url}`)) return;
    await fc.assert(
      fc.asyncProperty(cases.filter(parsable), async (c) => {
        await expectRefused(await call(c.body), c);
      }),
      { numRuns: RUNS },
    );
    await expectNothingWritten();
  }

  it('POST /auth/register: generated bad bodies are refused, nothing written', async () => {
    const email = fc.stringMatching(/^[a-z0-9]{1,12}$/).map((local) => `gen-${local}@e2e.test`);
    const spec = {
      email: {
        valid: email,
        invalid: fc.oneof(
          notAString(),
          fc.string().filter((s) => !s.includes('@')),
        ),
      },
      password: {
        valid: fc.string({ minLength: 8, maxLength: 40 }),
        invalid: fc.oneof(notAString(), fc.string({ maxLength: 7 })),
      },
      name: { valid: fc.string({ minLength: 1, maxLength: 30 }), invalid: notAString() },
    };
    const taken = fc
      .record({
        email: fc.constantFrom(alice.email, bob.email),
        password: spec.password.valid,
        name: spec.name.valid,
      })
      .map((body) => ({ body, status: 409, code: 'USERS_EMAIL_TAKEN' }));
    await checkProperty(
      'POST /auth/register',
      fc.oneof(
        { arbitrary: invalidBodies(spec).map(validation), weight: 4 },
        { arbitrary: taken, weight: 1 },
      ),
      (body) => app.call('POST', '/auth/register', { body }),
    );
  });

  it('POST /inventory/products: generated bad bodies are refused, nothing written', async () => {
    const spec = {
      sku: { valid: fc.stringMatching(/^[A-Z0-9]{3,10}$/).map((s) => `GEN-${s}`), invalid: notAString() },
      name: { valid: fc.string({ minLength: 1, maxLength: 30 }), invalid: notAString() },
      priceCents: { valid: fc.integer({ min: 1, max: 1_000_000 }), invalid: badInteger(1) },
      stock: { valid: fc.integer({ min: 0, max: 10_000 }), invalid: badInteger(0) },
    };
    const taken = fc
      .record({
        sku: fc.constant(product.sku),
        name: spec.name.valid,
        priceCents: spec.priceCents.valid,
        stock: spec.stock.valid,
      })
      .map((body) => ({ body, status: 409, code: 'INVENTORY_SKU_TAKEN' }));
    await checkProperty(
      'POST /inventory/products',
      fc.oneof(
        { arbitrary: invalidBodies(spec).map(validation), weight: 4 },
        { arbitrary: taken, weight: 1 },
      ),
      (body) => app.call('POST', '/inventory/products', { token: adminToken, body }),
    );
  });

  it('PATCH /inventory/products/:sku: generated bad bodies are refused, nothing written', async () => {
    const spec = {
      priceCents: { valid: fc.integer({ min: 1, max: 1_000_000 }), invalid: badInteger(1), optional: true },
      stock: { valid: fc.integer({ min: 0, max: 10_000 }), invalid: badInteger(0), optional: true },
    };
    const validPatch = fc
      .record({ priceCents: spec.priceCents.valid, stock: spec.stock.valid }, { requiredKeys: [] })
      .filter((b) => Object.keys(b).length > 0);
    // A valid change of a product that does not exist: 404.
    const unknown = validPatch.map((body) => ({ body, status: 404, sku: `NOPE-${uniqueSuffix()}` }));
    const invalid = invalidBodies(spec).map((body) => ({ ...validation(body), sku: product.sku }));
    const [method, path] = ['PATCH', '/inventory/products/:sku'];
    if (!present.has(`${method} ${path}`)) return;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ arbitrary: invalid, weight: 4 }, { arbitrary: unknown, weight: 1 }).filter(parsable),
        async (c) => {
          const reply = await app.call('PATCH', `/inventory/products/${c.sku}`, {
            token: adminToken,
            body: c.body,
          });
          await expectRefused(reply, c);
        },
      ),
      { numRuns: RUNS },
    );
    await expectNothingWritten();
  });

  it('POST /payments/deposits: generated bad bodies are refused, nothing written', async () => {
    const spec = { amountCents: { valid: fc.integer({ min: 1, max: 1_000_000 }), invalid: badInteger(1) } };
    await checkProperty('POST /payments/deposits', invalidBodies(spec).map(validation), (body) =>
      app.call('POST', '/payments/deposits', { token: alice.token, body }),
    );
  });

  it('POST /orders: generated bad bodies are refused (unknown sku: 400 ORDERS_UNKNOWN_SKU; a sku over 1000 units once its lines are merged: 400 ORDERS_QUANTITY_OVER_LIMIT), nothing written', async () => {
    const line = { sku: fc.constant(product.sku), quantity: fc.integer({ min: 1, max: 1000 }) };
    const lineSpec = {
      sku: { valid: line.sku, invalid: notAString() },
      quantity: { valid: line.quantity, invalid: badInteger(1, 1000) },
    };
    // lines of one sku are merged: three of at most 333 stay within the 1000 a sku may have
    const validLine = { sku: line.sku, quantity: fc.integer({ min: 1, max: 333 }) };
    const validItems = fc.array(fc.record(validLine), { minLength: 1, maxLength: 3 });
    const badItems: fc.Arbitrary<unknown> = fc.oneof(
      fc.constant([]),
      fc
        .array(fc.record(line), { minLength: 101, maxLength: 101 })
        .map((items) => items.map((item, i) => (i === 0 ? { ...item, quantity: 0 } : item))),
      fc.array(fc.record(line), { minLength: 101, maxLength: 102 }),
      notAnArray(),
      fc.tuple(validItems, invalidBodies(lineSpec)).map(([items, bad]) => [...items, bad]),
    );
    const spec = { items: { valid: validItems, invalid: badItems } };
    const unknownSku = fc
      .tuple(validItems, fc.stringMatching(/^[A-Z0-9]{4,8}$/), fc.integer({ min: 1, max: 5 }))
      .map(([items, suffix, quantity]) => ({
        body: { items: [...items, { sku: `NOPE-${suffix}`, quantity }] },
        status: 400,
        code: 'ORDERS_UNKNOWN_SKU',
      }));
    const overTheLimit = fc
      .tuple(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 1000 }))
      .filter(([a, b]) => a + b > 1000)
      .map(([a, b]) => ({
        body: {
          items: [
            { sku: product.sku, quantity: a },
            { sku: product.sku, quantity: b },
          ],
        },
        status: 400,
        code: 'ORDERS_QUANTITY_OVER_LIMIT',
      }));
    await checkProperty(
      'POST /orders',
      fc.oneof(
        { arbitrary: invalidBodies(spec).map(validation), weight: 4 },
        { arbitrary: unknownSku, weight: 1 },
        { arbitrary: overTheLimit, weight: 1 },
      ),
      (body) =>
        app.call('POST', '/orders', {
          token: alice.token,
          body,
          headers: { 'idempotency-key': `gen-${uniqueSuffix()}` },
        }),
    );
  });

  it('POST /webhooks (when served): generated bad bodies and private targets are refused', async ({
    skip,
  }) => {
    if (!present.has('POST /webhooks')) return skip('POST /webhooks is not served');
    const privateUrl = fc.constantFrom(
      'http://127.0.0.1/hook',
      'http://localhost:8080/hook',
      'http://10.1.2.3/hook',
      'http://192.168.0.10/hook',
      'http://172.16.5.4/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/hook',
      'http://0.0.0.0/hook',
    );
    const spec = {
      url: { valid: fc.constant('https://example.com/hook'), invalid: notAString() },
      events: {
        valid: fc.constant(['orders.order-confirmed']),
        invalid: fc.oneof(notAnArray(), fc.array(notAString(), { minLength: 1, maxLength: 2 })),
      },
    };
    const privates = privateUrl.map((url) => ({
      body: { url, events: ['orders.order-confirmed'] },
      status: 400,
    }));
    await checkProperty(
      'POST /webhooks',
      fc.oneof(
        { arbitrary: invalidBodies(spec).map(validation), weight: 3 },
        { arbitrary: privates, weight: 2 },
      ),
      (body) => app.call('POST', '/webhooks', { token: alice.token, body }),
    );
  });

  it('leaves no dead letter and every saga settled after all of the above', async () => {
    await expectNothingWritten();
    expect(baseline.deadLetters.body).toEqual({ items: [], next: null });
  });
});

// ---- generators ----

interface FieldSpec {
  readonly valid: fc.Arbitrary<unknown>;
  readonly invalid: fc.Arbitrary<unknown>;
  readonly optional?: boolean;
}

const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Bodies fastify's secure JSON parser refuses as such (prototype poisoning) are another case. */
const parsable = (c: { body: unknown }): boolean =>
  !/"(?:__proto__|constructor|prototype)"/.test(JSON.stringify(c.body) ?? '');

/** JSON values that are not strings. */
function notAString(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.integer(), { maxLength: 2 }),
    fc.dictionary(fc.stringMatching(/^[a-z]{1,4}$/), fc.integer(), { maxKeys: 2 }),
  );
}

function notAnArray(): fc.Arbitrary<unknown> {
  return fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.constant({}));
}

/** Values an integer field in [min, max] must refuse: out of range, fractions, and other types. */
function badInteger(min: number, max?: number): fc.Arbitrary<unknown> {
  const options: fc.Arbitrary<unknown>[] = [
    fc.integer({ min: min - 1_000_000, max: min - 1 }),
    fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
    fc.integer({ min, max: max ?? 1_000_000 }).map(String),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.integer({ min, max: max ?? 1000 }), { minLength: 1, maxLength: 2 }),
  ];
  if (max !== undefined) options.push(fc.integer({ min: max + 1, max: max + 1_000_000 }));
  return fc.oneof(...options);
}

/**
 * Bodies that break the schema described by `spec` in exactly one way: a required field missing,
 * an unknown field added, one field given an invalid value, or not an object at all.
 */
function invalidBodies(spec: Record<string, FieldSpec>): fc.Arbitrary<unknown> {
  const names = Object.keys(spec);
  const required = names.filter((name) => !spec[name]?.optional);
  const valid = fc.record(
    Object.fromEntries(names.map((name) => [name, (spec[name] as FieldSpec).valid])) as Record<
      string,
      fc.Arbitrary<unknown>
    >,
  );
  const ways: fc.Arbitrary<unknown>[] = [
    fc
      .tuple(
        valid,
        fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !names.includes(k) && !RESERVED_KEYS.has(k)),
        fc.jsonValue({ maxDepth: 1 }),
      )
      .map(([body, extra, value]) => ({ ...body, [extra]: value })),
    fc
      .tuple(valid, fc.constantFrom(...names))
      .chain(([body, name]) =>
        (spec[name] as FieldSpec).invalid.map((value) => ({ ...body, [name]: value })),
      ),
    fc.oneof(
      fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
    ),
  ];
  if (required.length > 0) {
    ways.push(
      fc
        .tuple(valid, fc.constantFrom(...required))
        .map(([body, name]) =>
          Object.fromEntries(Object.entries(body as object).filter(([k]) => k !== name)),
        ),
    );
  }
  return fc.oneof(...ways);
}
