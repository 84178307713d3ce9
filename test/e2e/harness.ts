/**
 * End-to-end harness: the real app (`buildApp` over the module catalogue), driven over HTTP with
 * `app.inject()` and nothing else. Tests written on it know the contract (CONTRACT.md section 3),
 * not the modules' internals.
 *
 * `describeOnTransports(title, fn)` runs a suite on the memory transport always, and on bullmq and
 * rabbitmq when their broker answers and the transport is built; a broker that does not answer is
 * skipped with a printed reason (a failing test with `REQUIRE_BROKERS=1`).
 */

import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, moduleCatalogue } from '../../src/app.js';
import { createHost } from '../../src/kernel/host/create-host.js';
import { collectPages, pagePath } from '../../src/kernel/http/pagination.js';
import { type HttpApp, loadConfig } from '../../src/kernel/index.js';
import { describeNeeding } from '../../src/kernel/testing/describe-needing.js';
import { amqpSkipReason, redisSkipReason } from '../../src/kernel/testing/index.js';
import {
  createTestDatabase,
  postgresSkipReason,
  type TestDatabase,
} from '../../src/kernel/testing/postgres.js';

export type TransportName = 'memory' | 'bullmq' | 'rabbitmq';

export const JWT_SECRET = 'e2e-secret-0123456789abcdef-0123456789abcdef';
export const ADMIN_EMAIL = 'admin@e2e.test';
export const ADMIN_PASSWORD = 'admin-password-e2e';
export const USER_PASSWORD = 'user-password-e2e';

export const TERMINAL_STATUSES = ['confirmed', 'payment_failed', 'cancelled'] as const;
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

/** Every module the build ships (the catalogue of src/app.ts). */
export const allModules = (): string[] => moduleCatalogue.map((m) => m.name);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
export const uniqueSuffix = (): string => randomBytes(4).toString('hex');
export const newNamespace = (): string => `e2e-${randomBytes(6).toString('hex')}`;

// ---- JSON shapes of the contract ----

/** `any` for response bodies: the tests assert on their shape. */
// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the tests
export type Json = any;

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  readonly body: Json;
  readonly text: string;
}

export interface Product {
  sku: string;
  name: string;
  priceCents: number;
  stock: number;
  reserved: number;
}

export interface Order {
  id: string;
  userId: string;
  status: string;
  items: { sku: string; quantity: number }[];
  totalCents: number;
  reason?: string;
  createdAt: string;
  updatedAt: string;
}

export interface TimelineEntry {
  id: string;
  type: string;
  source: string;
  time: string;
  correlationid: string;
  causationid: string | null;
}

export interface User {
  readonly id: string;
  readonly email: string;
  readonly password: string;
  readonly token: string;
}

export interface Summary {
  ordersPlaced: number;
  ordersConfirmed: number;
  ordersPaymentFailed: number;
  ordersCancelled: number;
  revenueCents: number;
  refundedCents: number;
}

export interface RequestOptions {
  readonly token?: string;
  /** Sent as JSON (`JSON.stringify`), unless `rawPayload` is given. */
  readonly body?: unknown;
  readonly rawPayload?: string;
  readonly headers?: Record<string, string>;
  /** The client address (the login and sign-up limits count per address); 127.0.0.1 by default. */
  readonly remoteAddress?: string;
}

export interface AppOptions {
  readonly transport?: TransportName;
  /** Modules to run (default: the whole catalogue). */
  readonly modules?: readonly string[];
  /** Reuse a data directory (a restart); a fresh temporary one otherwise. */
  readonly dataDir?: string;
  readonly sagaStepTimeoutMs?: number;
  /** Keep the data directory on close (when another app reopens it). */
  readonly keepData?: boolean;
  /** Variables set last, over the harness's own (a private broker: AMQP_URL, RABBITMQ_QUEUE_TYPE). */
  readonly env?: Readonly<Record<string, string>>;
}

// ---- the app under test ----

/** A running app and the HTTP helpers of the contract. */
export class E2eApp {
  /** Every user registered through this harness (for checks across the whole app). */
  readonly users: User[] = [];
  /** Every order placed through this harness: id and the owner's token. */
  readonly placed = new Map<string, { readonly token: string }>();
  #adminToken: string | undefined;

  private constructor(
    readonly http: HttpApp,
    readonly transport: TransportName,
    readonly dataDir: string,
    readonly namespace: string,
    readonly modules: readonly string[],
    readonly ownsDataDir: boolean,
  ) {}

  static async start(options: AppOptions = {}): Promise<E2eApp> {
    const transport = options.transport ?? 'memory';
    const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), `e2e-${transport}-`));
    const namespace = newNamespace();
    const modules = options.modules ?? allModules();
    const env: Record<string, string> = {
      DATA_DIR: dataDir,
      LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent',
      TRANSPORT: transport,
      BUS_NAMESPACE: namespace,
      ADMIN_EMAIL,
      ADMIN_PASSWORD,
      JWT_SECRET,
      SAGA_STEP_TIMEOUT_MS: String(options.sagaStepTimeoutMs ?? 30_000),
    };
    if (modules.length > 0) env.MODULES = modules.join(',');
    // The brokers the skip checks looked at (src/kernel/testing/brokers.ts reads the same variables).
    for (const name of ['REDIS_URL', 'AMQP_URL', 'RABBITMQ_QUEUE_TYPE']) {
      const value = process.env[name];
      if (value) env[name] = value;
    }
    Object.assign(env, options.env);
    try {
      const http = await buildApp(loadConfig(env, allModules()));
      return new E2eApp(http, transport, dataDir, namespace, modules, !options.keepData && !options.dataDir);
    } catch (error) {
      if (!options.dataDir && !options.keepData) rmSync(dataDir, { recursive: true, force: true });
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.http.close();
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** One HTTP request through `inject`. */
  async call(method: string, url: string, options: RequestOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    let payload: string | undefined = options.rawPayload;
    if (payload === undefined && options.body !== undefined) payload = JSON.stringify(options.body);
    if (payload !== undefined) headers['content-type'] ??= 'application/json';
    const response = await this.http.inject({
      method: method as 'GET',
      url,
      headers,
      ...(options.remoteAddress ? { remoteAddress: options.remoteAddress } : {}),
      ...(payload !== undefined ? { payload } : {}),
    });
    let body: Json;
    try {
      body = response.body === '' ? undefined : JSON.parse(response.body);
    } catch {
      body = undefined;
    }
    return { status: response.statusCode, headers: response.headers, body, text: response.body };
  }

  /** Like `call`, but fails the test (with the answer) unless the status is one of `expected`. */
  async expectStatus(
    expected: number | readonly number[],
    method: string,
    url: string,
    options: RequestOptions = {},
  ): Promise<Json> {
    const reply = await this.call(method, url, options);
    const allowed = typeof expected === 'number' ? [expected] : expected;
    if (!allowed.includes(reply.status)) {
      throw new Error(
        `${method} ${url} answered ${reply.status} (expected ${allowed.join(' or ')}): ${reply.text.slice(0, 500)}`,
      );
    }
    return reply.body;
  }

  // ---- users ----

  /**
   * POST /auth/login. Successful logins are not limited (only failed ones are, which
   * bad-input tests), so every user of the suite may sign in from one address.
   */
  async login(email: string, password: string, remoteAddress?: string): Promise<string> {
    const reply = await this.call('POST', '/auth/login', {
      body: { email, password },
      ...(remoteAddress ? { remoteAddress } : {}),
    });
    if (reply.status !== 200) throw new Error(`login of ${email} answered ${reply.status}: ${reply.text}`);
    expect(reply.body).toMatchObject({ token: expect.any(String), expiresIn: expect.any(Number) });
    return reply.body.token as string;
  }

  readonly #pool: User[] = [];

  /**
   * Registers `count` users at once and keeps them for `registerUser` (scrypt costs a few hundred
   * milliseconds per registration and per login; in parallel the thread pool shares the cores).
   */
  async prepareUsers(count: number): Promise<void> {
    const users = await Promise.all(Array.from({ length: count }, () => this.#register('E2E User')));
    this.#pool.push(...users);
  }

  /** A new user (201 on register, then a login), from the prepared ones when there are any. */
  async registerUser(name = 'E2E User'): Promise<User> {
    const user = this.#pool.shift() ?? (await this.#register(name));
    this.users.push(user);
    return user;
  }

  async #register(name: string): Promise<User> {
    const email = `user-${uniqueSuffix()}@e2e.test`;
    const created = await this.expectStatus(201, 'POST', '/auth/register', {
      body: { email, password: USER_PASSWORD, name },
      // a client per user: sign-ups are limited per address (USERS_REGISTER_PER_IP)
      remoteAddress: randomClientAddress(),
    });
    expect(created).toEqual({ id: expect.any(String), email, name });
    const token = await this.login(email, USER_PASSWORD);
    return { id: created.id as string, email, password: USER_PASSWORD, token };
  }

  async adminToken(): Promise<string> {
    this.#adminToken ??= await this.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    return this.#adminToken;
  }

  // ---- inventory ----

  async createProduct(input: {
    priceCents: number;
    stock: number;
    sku?: string;
    name?: string;
  }): Promise<Product> {
    const sku = input.sku ?? `SKU-${uniqueSuffix().toUpperCase()}`;
    const body = {
      sku,
      name: input.name ?? `Product ${sku}`,
      priceCents: input.priceCents,
      stock: input.stock,
    };
    const product = await this.expectStatus(201, 'POST', '/inventory/products', {
      token: await this.adminToken(),
      body,
    });
    expect(product).toMatchObject({ ...body, reserved: 0 });
    return product as Product;
  }

  async product(sku: string): Promise<Product> {
    return (await this.expectStatus(200, 'GET', `/inventory/products/${encodeURIComponent(sku)}`)) as Product;
  }

  // ---- payments ----

  async deposit(token: string, amountCents: number): Promise<number> {
    const body = await this.expectStatus(201, 'POST', '/payments/deposits', { token, body: { amountCents } });
    expect(body).toEqual({ balanceCents: expect.any(Number) });
    return body.balanceCents as number;
  }

  async account(token: string, at?: string): Promise<{ balanceCents: number; version: number }> {
    const url = at === undefined ? '/payments/account' : `/payments/account?at=${encodeURIComponent(at)}`;
    return (await this.expectStatus(200, 'GET', url, { token })) as { balanceCents: number; version: number };
  }

  async balance(token: string): Promise<number> {
    return (await this.account(token)).balanceCents;
  }

  /**
   * Every item of a paginated list, following `next` page by page; each answer must be a page
   * `{ items, next }`.
   */
  allPages(token: string | undefined, path: string): Promise<Json[]> {
    return collectPages(async (cursor) => {
      const page = await this.expectStatus(200, 'GET', pagePath(path, cursor), token ? { token } : {});
      expect(page).toEqual({ items: expect.any(Array), next: expect.toBeOneOf([null, expect.any(String)]) });
      return page;
    });
  }

  async accountEvents(token: string): Promise<Json[]> {
    return this.allPages(token, '/payments/account/events');
  }

  // ---- orders ----

  /**
   * POST /orders (202). The orders module prices from a local catalogue fed by inventory's events,
   * so a product created a moment ago may not be known yet: an `ORDERS_UNKNOWN_SKU` answer (which
   * writes nothing) is retried for a while.
   */
  async placeOrder(
    token: string,
    items: readonly { sku: string; quantity: number }[],
    options: { idempotencyKey?: string; correlationId?: string } = {},
  ): Promise<{ reply: Reply; order: { id: string; status: string; totalCents: number } }> {
    const headers: Record<string, string> = {};
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    if (options.correlationId) headers['x-correlation-id'] = options.correlationId;
    const deadline = Date.now() + 15_000;
    for (;;) {
      const reply = await this.call('POST', '/orders', { token, body: { items }, headers });
      if (reply.status === 400 && reply.body?.code === 'ORDERS_UNKNOWN_SKU' && Date.now() < deadline) {
        await sleep(25);
        continue;
      }
      if (reply.status < 200 || reply.status > 299) {
        throw new Error(`POST /orders answered ${reply.status}: ${reply.text.slice(0, 500)}`);
      }
      this.placed.set(reply.body.id, { token });
      return { reply, order: reply.body };
    }
  }

  async order(token: string, id: string): Promise<Order> {
    return (await this.expectStatus(200, 'GET', `/orders/${encodeURIComponent(id)}`, { token })) as Order;
  }

  async orders(token: string): Promise<Order[]> {
    return (await this.allPages(token, '/orders')) as Order[];
  }

  /** Polls GET /orders/:id until its status is terminal (confirmed, payment_failed, cancelled). */
  async waitForTerminal(token: string, id: string, timeoutMs = 20_000): Promise<Order> {
    const deadline = Date.now() + timeoutMs;
    let last: Order | undefined;
    for (;;) {
      last = await this.order(token, id);
      if ((TERMINAL_STATUSES as readonly string[]).includes(last.status)) return last;
      if (Date.now() > deadline) {
        throw new Error(`order ${id} is still ${last.status} after ${timeoutMs} ms: ${JSON.stringify(last)}`);
      }
      await sleep(this.transport === 'memory' ? 15 : 40);
    }
  }

  async waitForAllTerminal(token: string, ids: readonly string[], timeoutMs = 60_000): Promise<Order[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const all = await this.orders(token);
      const byId = new Map(all.map((o) => [o.id, o]));
      const pending = ids.filter(
        (id) => !(TERMINAL_STATUSES as readonly string[]).includes(byId.get(id)?.status ?? ''),
      );
      if (pending.length === 0) return ids.map((id) => byId.get(id) as Order);
      if (Date.now() > deadline) {
        throw new Error(`${pending.length} of ${ids.length} orders not terminal after ${timeoutMs} ms`);
      }
      await sleep(this.transport === 'memory' ? 25 : 100);
    }
  }

  async timeline(token: string, id: string): Promise<TimelineEntry[]> {
    const entries = await this.expectStatus(200, 'GET', `/orders/${encodeURIComponent(id)}/timeline`, {
      token,
    });
    expect(Array.isArray(entries)).toBe(true);
    return entries as TimelineEntry[];
  }

  // ---- notifications and analytics ----

  async notifications(token: string): Promise<Json[]> {
    return this.allPages(token, '/notifications');
  }

  async summary(): Promise<Summary> {
    return (await this.expectStatus(200, 'GET', '/analytics/summary', {
      token: await this.adminToken(),
    })) as Summary;
  }
}

// ---- broker reachability and transports ----

export interface TransportPlan {
  readonly transport: TransportName;
  /** Undefined when the suite runs on this transport. */
  readonly skipReason?: string;
  /** True when the skip must fail the run instead (REQUIRE_BROKERS=1 and no broker). */
  readonly mustFail?: boolean;
}

/**
 * Whether `createTransport` builds this transport (through `createHost`, with no module): false when
 * it answers that the transport is not available in this build.
 */
async function transportBuilt(transport: TransportName): Promise<string | undefined> {
  const dataDir = mkdtempSync(join(tmpdir(), `e2e-probe-${transport}-`));
  try {
    const config = loadConfig(
      {
        DATA_DIR: dataDir,
        LOG_LEVEL: 'silent',
        TRANSPORT: transport,
        BUS_NAMESPACE: newNamespace(),
        JWT_SECRET,
        REDIS_URL: process.env.REDIS_URL,
        AMQP_URL: process.env.AMQP_URL,
      },
      [],
    );
    const app = await createHost(config, { catalogue: [] });
    await app.close();
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/not available/i.test(message)) return `the ${transport} transport is not built yet (${message})`;
    // Any other failure is the suite's to report: run it.
    return undefined;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

let plans: Promise<TransportPlan[]> | undefined;

/** Which transports suites run on here, and why the others are skipped (computed once per file). */
export function transportPlans(): Promise<TransportPlan[]> {
  plans ??= (async () => {
    const requireBrokers = process.env.REQUIRE_BROKERS === '1';
    const result: TransportPlan[] = [{ transport: 'memory' }];
    const brokers: [TransportName, () => Promise<string | undefined>][] = [
      ['bullmq', redisSkipReason],
      ['rabbitmq', amqpSkipReason],
    ];
    for (const [transport, brokerReason] of brokers) {
      const unreachable = await brokerReason();
      if (unreachable) {
        result.push({ transport, skipReason: `broker: ${unreachable}`, mustFail: requireBrokers });
        continue;
      }
      const notBuilt = await transportBuilt(transport);
      result.push(notBuilt ? { transport, skipReason: notBuilt } : { transport });
    }
    return result;
  })();
  return plans;
}

/** What a suite of `describeOnTransports` gets: its transport and its app. */
export interface SuiteContext {
  readonly transport: TransportName;
  /** The app of this suite (started in beforeAll, closed in afterAll). */
  app(): E2eApp;
}

/**
 * Runs `fn` once per transport that can run here, each inside its own describe with its own app
 * (fresh data directory and BUS_NAMESPACE). Skipped transports print why.
 */
export function describeOnTransports(
  title: string,
  fn: (suite: SuiteContext) => void,
  { alsoOnPostgres = false, ...options }: Omit<AppOptions, 'transport'> & OnPostgres = {},
): void {
  describe(title, async () => {
    if (alsoOnPostgres) await describeOnPostgres(fn, options);
    for (const plan of await transportPlans()) {
      const name = `on ${plan.transport}`;
      if (plan.skipReason !== undefined) {
        if (plan.mustFail) {
          describe(name, () => {
            it('needs its broker (REQUIRE_BROKERS=1)', () => {
              throw new Error(`${plan.transport}: ${plan.skipReason}`);
            });
          });
        } else {
          console.warn(`[e2e] ${title} ${name}: skipped, ${plan.skipReason}`);
          describe.skip(`${name} (skipped: ${plan.skipReason})`, () => {
            it('runs when the broker answers', () => {});
          });
        }
        continue;
      }
      describe(name, () => {
        let current: E2eApp | undefined;
        beforeAll(async () => {
          current = await E2eApp.start({ ...options, transport: plan.transport });
        });
        afterAll(async () => {
          await current?.close();
        });
        fn({
          transport: plan.transport,
          app: () => {
            if (!current) throw new Error('the app did not start');
            return current;
          },
        });
      });
    }
  });
}

interface OnPostgres {
  /**
   * Also runs the suite with every module database in PostgreSQL (DATABASE_URL, a throwaway
   * database on TEST_POSTGRES_URL's server), on the memory transport: the same outcomes on the
   * second backend. Skipped with the reason when PostgreSQL does not answer (failing under
   * REQUIRE_BROKERS=1).
   */
  readonly alsoOnPostgres?: boolean;
}

async function describeOnPostgres(
  fn: (suite: SuiteContext) => void,
  options: Omit<AppOptions, 'transport'>,
): Promise<void> {
  describeNeeding('PostgreSQL', await postgresSkipReason(), 'on memory, databases on PostgreSQL', () => {
    let current: E2eApp | undefined;
    let database: TestDatabase | undefined;
    beforeAll(async () => {
      database = await createTestDatabase('e2e');
      current = await E2eApp.start({
        ...options,
        transport: 'memory',
        env: { ...options.env, DATABASE_URL: database.url },
      });
    });
    afterAll(async () => {
      await current?.close();
      await database?.drop();
    });
    fn({
      transport: 'memory',
      app: () => {
        if (!current) throw new Error('the app did not start');
        return current;
      },
    });
  });
}

// ---- problem+json ----

/** Asserts an RFC 9457 problem answer with this status (and code, when given); returns the body. */
export function expectProblem(reply: Reply, status: number, code?: string | RegExp): Json {
  const context = `${reply.status} ${reply.text.slice(0, 300)}`;
  expect(reply.status, context).toBe(status);
  expect(String(reply.headers['content-type']), context).toContain('application/problem+json');
  const body = reply.body;
  expect(body, context).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    code: expect.stringMatching(/^[A-Z][A-Z0-9]*_[A-Z0-9_]+$/),
  });
  // Every response carries a correlation id, errors too.
  expect(reply.headers['x-correlation-id'], context).toEqual(expect.any(String));
  if (typeof code === 'string') expect(body.code, context).toBe(code);
  else if (code) expect(body.code, context).toMatch(code);
  expectNoStackTrace(reply);
  return body;
}

export function expectNoStackTrace(reply: Reply): void {
  expect(reply.text).not.toMatch(/\n\s+at |\bat [\w.<>]+ \(|\.(?:ts|js|mjs):\d+:\d+|node_modules/);
}

/** Asserts a 400 validation problem with `errors: [{ path, message }]`. */
export function expectValidationProblem(reply: Reply): Json {
  const body = expectProblem(reply, 400, 'HTTP_VALIDATION');
  expect(Array.isArray(body.errors), reply.text).toBe(true);
  expect(body.errors.length, reply.text).toBeGreaterThan(0);
  for (const error of body.errors) {
    expect(error, reply.text).toMatchObject({ path: expect.any(String), message: expect.any(String) });
  }
  return body;
}

// ---- JWTs crafted by hand ----

const b64url = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** An HS256 JWT over these claims, signed with `secret`. */
export function signJwt(claims: Record<string, unknown>, secret = JWT_SECRET, header: object = {}): string {
  const head = b64url({ alg: 'HS256', typ: 'JWT', ...header });
  const payload = b64url(claims);
  const signature = createHmac('sha256', secret).update(`${head}.${payload}`).digest('base64url');
  return `${head}.${payload}.${signature}`;
}

export function decodeJwt(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
}

/** Tokens that must all be refused with 401, made from a valid one. */
export function badTokens(valid: string): Record<string, string | undefined> {
  const claims = decodeJwt(valid);
  const now = Math.floor(Date.now() / 1000);
  const [head, payload, signature = ''] = valid.split('.');
  const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
  return {
    missing: undefined,
    'not a JWT': 'not-a-jwt',
    'tampered signature': `${head}.${payload}.${flipped}`,
    'tampered payload (role: admin)': `${head}.${b64url({ ...claims, role: 'admin' })}.${signature}`,
    expired: signJwt({ ...claims, iat: now - 7200, exp: now - 3600 }),
    'without exp': signJwt(Object.fromEntries(Object.entries(claims).filter(([key]) => key !== 'exp'))),
    'alg: none': `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ ...claims, role: 'admin' })}.`,
    'other secret': signJwt(claims, randomBytes(32).toString('hex')),
    'HS512 with the right secret': (() => {
      const h = b64url({ alg: 'HS512', typ: 'JWT' });
      const p = b64url(claims);
      return `${h}.${p}.${createHmac('sha512', JWT_SECRET).update(`${h}.${p}`).digest('base64url')}`;
    })(),
  };
}

export const randomId = (): string => randomUUID();

/** A private IPv4 address for one simulated client. */
export function randomClientAddress(): string {
  const [a = 0, b = 0, c = 1] = randomBytes(3);
  return `10.${a}.${b}.${(c % 254) + 1}`;
}
