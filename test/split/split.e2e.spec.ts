/**
 * The split deployment with real processes, on RabbitMQ and on BullMQ (Redis carries the service
 * registry and the shared rate limits on both): the supervisor (scripts/start-split.ts) runs
 *
 *   gateway     gateway + users            (the single HTTP entry point)
 *   orders      orders
 *   payments-1  payments + inventory  ┐ three instances, each with a DATA_DIR of its own,
 *   payments-2  payments + inventory  │ sharing the payments and inventory schemas of one
 *   payments-3  payments + inventory  ┘ PostgreSQL database (DATABASE_URL_PAYMENTS/_INVENTORY)
 *   notify      notifications + analytics + webhooks
 *
 * and the test shows, through the gateway only:
 * - the order scenario gives the same outcomes, balances, stock, notifications, analytics and
 *   timeline as the same scenario against one process (`npm start` on the memory transport);
 * - a user's webhook (served by the notify process) receives its order's events, signed;
 * - `kill -9` of every payments instance while orders flow: the gateway keeps answering (503
 *   `GATEWAY_NO_INSTANCE` for payments), new orders wait in `pending`; the supervisor restarts the
 *   instances; every order ends confirmed, each charged exactly once, in placement order per user;
 * - a process started before its broker answers (one more inventory instance, with a data
 *   directory of its own) logs "waiting for … at …" and serves meanwhile: live, not ready (naming
 *   the broker), reads answer, an admin command is accepted into its outbox; once the broker
 *   comes up (a TCP relay opened on its broker port) it becomes ready and the command's event
 *   reaches the orders process;
 * - SIGTERM to the supervisor stops every process cleanly.
 *
 * Skipped with a printed reason when a broker or PostgreSQL does not answer; a failure with
 * REQUIRE_BROKERS=1.
 * SPLIT_KEEP_DATA=1 keeps the data directories; SPLIT_LOG_LEVEL sets the processes' log level (warn);
 * SPLIT_TRANSPORTS=bullmq runs one transport only.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { amqpSkipReason, amqpUrl, redisSkipReason, redisUrl } from '../../src/kernel/testing/index.js';
import {
  createTestDatabase,
  postgresSkipReason,
  type TestDatabase,
} from '../../src/kernel/testing/postgres.js';
import { startReceiver, verifySignature } from '../../src/modules/webhooks/testing/receiver.js';
import { Api, type Json, until } from './api.js';
import {
  deploymentEnv,
  freePorts,
  killGroup,
  type Proc,
  startApp,
  startSupervisor,
  TcpRelay,
  waitForOk,
} from './cluster.js';
import { killPaymentsWhileOrdering } from './kill-scenario.js';
import { EXPECTED_RESULT, runScenario, type ScenarioResult } from './scenario.js';

type Transport = 'rabbitmq' | 'bullmq';

const JWT_SECRET = 'split-e2e-secret-0123456789abcdef0123456789abcdef';
const ADMIN_EMAIL = 'admin@split.test';
const ADMIN_PASSWORD = 'split-admin-password';
const READY_TIMEOUT_MS = 90_000;
const WAIT_MS = 60_000;
const requireBrokers = process.env.REQUIRE_BROKERS === '1';
/** SPLIT_TRANSPORTS=bullmq runs one of them only (default: both). */
const TRANSPORTS = (['rabbitmq', 'bullmq'] as const).filter((t) =>
  (process.env.SPLIT_TRANSPORTS ?? 'rabbitmq,bullmq').split(',').includes(t),
);
const keepData = process.env.SPLIT_KEEP_DATA === '1';

const commonEnv = (transport: string, dataDir: string, namespace: string): Record<string, string> => ({
  ...deploymentEnv({
    transport,
    dataDir,
    namespace,
    jwtSecret: JWT_SECRET,
    admin: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
  }),
  // the kill test keeps orders waiting for payments for a while: no step timeout meanwhile
  SAGA_STEP_TIMEOUT_MS: '180000',
  // the webhook test's receiver listens on 127.0.0.1
  WEBHOOKS_ALLOW_PRIVATE: '1',
});

async function skipReason(transport: Transport): Promise<string | undefined> {
  const redis = await redisSkipReason();
  if (redis) return `Redis (${transport === 'bullmq' ? 'transport and ' : ''}service registry): ${redis}`;
  if (transport === 'rabbitmq') {
    const amqp = await amqpSkipReason();
    if (amqp) return `RabbitMQ: ${amqp}`;
  }
  const postgres = await postgresSkipReason();
  if (postgres) return `PostgreSQL (payments and inventory): ${postgres}`;
  return undefined;
}

// ---- the same scenario against one process, once per file ----

let baseline: Promise<ScenarioResult> | undefined;

/** `npm start` as a newcomer runs it (memory transport, every module), driven by the same scenario. */
function monolithBaseline(): Promise<ScenarioResult> {
  baseline ??= (async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'split-monolith-'));
    const [port] = await freePorts(1);
    const app = startApp('monolith', {
      ...commonEnv('memory', dataDir, `mono-${randomBytes(4).toString('hex')}`),
      PORT: String(port),
      MODULES: '',
    });
    try {
      await waitForOk(`http://127.0.0.1:${port}/health/ready`, READY_TIMEOUT_MS, app);
      const api = new Api(`http://127.0.0.1:${port}`);
      return await runScenario(api, await api.login(ADMIN_EMAIL, ADMIN_PASSWORD), WAIT_MS);
    } finally {
      await killGroup(app);
      rmSync(dataDir, { recursive: true, force: true });
    }
  })();
  return baseline;
}

// ---- per transport ----

function splitSuite(transport: Transport): void {
  const dataDir = mkdtempSync(join(tmpdir(), `split-${transport}-`));
  const namespace = `split-${transport}-${randomBytes(4).toString('hex')}`;
  let supervisor: Proc;
  let ports: { gateway: number; orders: number; payments: number; notify: number };
  let api: Api;
  let admin: string;
  let failed = false;
  // Payments and inventory keep their state in PostgreSQL: three instances, each with a DATA_DIR of
  // its own, share their database, as instances on several hosts would (README "Choosing PostgreSQL").
  const instances = 3;
  const paymentsPorts = () => Array.from({ length: instances }, (_, i) => ports.payments + i);
  let database: TestDatabase | undefined;

  beforeAll(async () => {
    void monolithBaseline().catch(() => {}); // in parallel; awaited (and reported) by its test
    const payments = await consecutivePorts(instances); // payments, payments + 1, …: its instances
    const [gateway = 0, orders = 0, notify = 0] = (await freePorts(3 + instances))
      .filter((port) => port < payments || port >= payments + instances)
      .slice(0, 3);
    ports = { gateway, orders, payments, notify };
    database = await createTestDatabase(`split_${transport}`);
    const paymentsEnv = {
      DATABASE_URL_PAYMENTS: database.url,
      DATABASE_URL_INVENTORY: database.url,
      DATA_DIR: join(dataDir, '{instance}'),
    };
    supervisor = startSupervisor(
      dataDir,
      {
        gateway: { modules: ['gateway', 'users'], port: ports.gateway, env: { TRUST_PROXY: '' } },
        orders: { modules: ['orders'], port: ports.orders },
        payments: { modules: ['payments', 'inventory'], port: ports.payments, instances, env: paymentsEnv },
        notify: { modules: ['notifications', 'analytics', 'webhooks'], port: ports.notify },
      },
      commonEnv(transport, dataDir, namespace),
    );
    for (const port of [ports.gateway, ports.orders, ...paymentsPorts(), ports.notify]) {
      await waitForOk(`http://127.0.0.1:${port}/health/ready`, READY_TIMEOUT_MS, supervisor);
    }
    api = new Api(`http://127.0.0.1:${ports.gateway}`);
    admin = await api.login(ADMIN_EMAIL, ADMIN_PASSWORD);
  }, READY_TIMEOUT_MS + 30_000);

  afterEach(({ task }) => {
    if (task.result?.state !== 'fail') return;
    failed = true;
    console.log(`[split ${transport}] last supervisor output:\n${supervisor?.tail(120)}`);
  });

  afterAll(async () => {
    if (supervisor) await killGroup(supervisor);
    await database?.drop();
    if (!failed && !keepData) rmSync(dataDir, { recursive: true, force: true });
    else console.log(`[split ${transport}] data kept in ${dataDir}`);
  });

  it('runs every module group in its own process, registered with its health', async () => {
    const services: Json[] = await until(
      () => api.expect(200, 'GET', '/admin/services', { token: admin }),
      (list: Json[]) => list.length === 3 + instances && list.every((s) => s.status === 'pass'),
      15_000,
    );
    const layout = services.map((s) => `${[...s.modules].sort().join('+')} ${s.url}`).sort();
    const url = (port: number) => `http://127.0.0.1:${port}`;
    expect(layout).toEqual(
      [
        `analytics+notifications+webhooks ${url(ports.notify)}`,
        `gateway+users ${url(ports.gateway)}`,
        ...paymentsPorts().map((port) => `inventory+payments ${url(port)}`),
        `orders ${url(ports.orders)}`,
      ].sort(),
    );
    expect(new Set(services.map((s) => s.pid)).size).toBe(3 + instances);
    expect(services.every((s) => s.transport === transport)).toBe(true);
    expect(services.filter((s) => s.self).map((s) => s.url)).toEqual([url(ports.gateway)]);
  });

  it("shows every process on the gateway's dashboard, with the consumers each runs", async () => {
    const dashboard = await api.call('GET', '/admin', { token: admin });
    expect(dashboard.status).toBe(200);
    expect(dashboard.text.match(/<tr class="instance"/g)).toHaveLength(3 + instances);
    expect(dashboard.text).not.toContain('unreachable');
    // consumers of three other processes; payments' twice, one row per instance
    for (const consumer of ['orders.checkout-saga', 'notifications.outcomes', 'analytics.projections'])
      expect(dashboard.text).toContain(`<tr data-consumer="${consumer}"`);
    expect(dashboard.text.match(/<tr data-consumer="payments\.account-commands"/g)).toHaveLength(instances);
  });

  it("describes the whole system at the gateway's /openapi.json, /docs and /asyncapi.json, as one process does", async () => {
    const expected = [
      ['post', '/auth/login'],
      ['get', '/users/me'],
      ['post', '/inventory/products'],
      ['post', '/payments/deposits'],
      ['get', '/payments/account'],
      ['post', '/orders'],
      ['get', '/orders/{id}/timeline'],
      ['get', '/notifications'],
      ['get', '/analytics/summary'],
    ] as const;
    const described = (doc: Json) =>
      expected.every(([method, path]) => doc.paths?.[path]?.[method] !== undefined);
    const openapi: Json = await until(() => api.expect(200, 'GET', '/openapi.json'), described, 20_000);
    // each operation as its own service documents it: the body schema of a proxied route included
    expect(
      openapi.paths['/payments/deposits'].post.requestBody.content['application/json'].schema,
    ).toMatchObject({
      required: ['amountCents'],
    });
    const ui: Json = await api.expect(200, 'GET', '/docs/json');
    expect(described(ui)).toBe(true);

    // and every message, with who sends and who receives it, though each lives in another process
    const flows = [
      'send.orders.payments.charge-payment',
      'receive.payments.account-commands.payments.charge-payment',
      'send.inventory.inventory.stock-reserved',
      'receive.analytics.projections.orders.order-confirmed',
      'send.users.users.user-registered',
    ];
    const asyncapi: Json = await until(
      () => api.expect(200, 'GET', '/asyncapi.json'),
      (doc: Json) => flows.every((id) => doc.operations?.[id] !== undefined),
      20_000,
    );
    expect(Object.keys(asyncapi.channels)).toEqual(
      expect.arrayContaining(['payments.charge-payment', 'orders.order-placed']),
    );
    expect(asyncapi.components.messages['payments.charge-payment']).toBeDefined();
  });

  it('the order scenario through the gateway: same outcomes, balances and counts as one process', async () => {
    const split = await runScenario(api, admin, WAIT_MS);
    expect(split).toEqual(EXPECTED_RESULT);
    expect(split).toEqual(await monolithBaseline());
  }, 180_000);

  it("delivers a user's webhooks from the notify process, signed, for an order placed through the gateway", async () => {
    const receiver = await startReceiver();
    try {
      const user = await api.register('Hook');
      await api.deposit(user.token, 10_000);
      const sku = `HOOK-${randomBytes(3).toString('hex').toUpperCase()}`;
      await api.createProduct(admin, sku, 250, 5);
      const events = ['orders.order-placed', 'payments.payment-completed', 'orders.order-confirmed'];
      const hook: Json = await api.expect(201, 'POST', '/webhooks', {
        token: user.token,
        body: { url: receiver.url('/shop'), events },
      });
      const order = await api.placeOrder(user.token, [{ sku, quantity: 2 }]);
      await api.waitForTerminal(user.token, [order.id], WAIT_MS);
      const deliveries: Json[] = await until(
        () => api.allPages(user.token, `/webhooks/${hook.id}/deliveries`),
        (list: Json[]) => list.length === 3 && list.every((d) => d.status === 'delivered'),
        WAIT_MS,
      );
      expect(deliveries.every((d) => d.attempts === 1 && d.responseStatus === 200)).toBe(true);
      const received = receiver.received('/shop');
      expect(received).toHaveLength(3);
      for (const request of received) expect(verifySignature(request, hook.secret)).toBe(true);
      const bodies = received.map((request) => JSON.parse(request.body) as Json);
      expect(bodies.map((b) => b.type).sort()).toEqual([...events].sort());
      expect(bodies.every((b) => b.data.orderId === order.id)).toBe(true);
    } finally {
      await receiver.close();
    }
  });

  it('kill -9 of every payments instance while orders flow: pending meanwhile, every order terminal after the restart, none charged twice', async () => {
    const share = await killPaymentsWhileOrdering({
      api,
      admin,
      supervisor,
      waitMs: WAIT_MS,
      transport,
      instances,
    });
    console.log(`[split ${transport}] payments messages handled per instance: ${JSON.stringify(share)}`);
  }, 180_000);

  it('a process started before its broker answers waits, saying so, serving meanwhile, then works', async () => {
    const [appPort = 0, brokerPort = 0] = await freePorts(2);
    const broker = transport === 'rabbitmq' ? new URL(amqpUrl) : new URL(redisUrl);
    const relay = TcpRelay.to(broker.toString(), transport === 'rabbitmq' ? 5672 : 6379, brokerPort);
    const lateUrl = new URL(broker.toString());
    lateUrl.port = String(brokerPort);
    const lateDir = mkdtempSync(join(tmpdir(), `split-late-${transport}-`));
    // one more inventory instance of this deployment (same namespace), with a database of its own:
    // the relays of the payments instances would otherwise publish its outbox for it
    const late = startApp('late', {
      ...commonEnv(transport, lateDir, namespace),
      MODULES: 'inventory',
      PORT: String(appPort),
      ...(transport === 'rabbitmq' ? { AMQP_URL: lateUrl.toString() } : { REDIS_URL: lateUrl.toString() }),
    });
    const direct = new Api(`http://127.0.0.1:${appPort}`);
    try {
      const name = transport === 'rabbitmq' ? 'RabbitMQ' : 'Redis';
      const waiting = new RegExp(`waiting for ${name} at .*127\\.0\\.0\\.1:${brokerPort}`);
      await until(
        async () => late.matching(waiting).length,
        (n) => n >= 2 || !late.running,
        20_000,
      );
      expect(late.running, late.tail()).toBe(true);
      expect(late.matching(waiting).length).toBeGreaterThanOrEqual(2);

      // serving while it waits: live, not ready (naming the broker), reads answer
      await waitForOk(`http://127.0.0.1:${appPort}/health/live`, 30_000, late);
      expect(late.matching(/does not answer yet: serving without the bus/)).toHaveLength(1);
      const notReady = await direct.call('GET', '/health/ready');
      expect(notReady.status).toBe(503);
      expect(notReady.body.checks.subscriptions.status).toBe('fail');
      expect(notReady.body.checks.subscriptions.detail).toMatch(waiting);
      await direct.expect(200, 'GET', '/inventory/products');
      // an admin command is accepted (201) into the outbox, where its event waits (an admin token
      // of this deployment, same JWT_SECRET, from the gateway)
      const sku = `LATE-${randomBytes(3).toString('hex')}`;
      const cataloguedBefore = await productEventsHandledByOrders(ports.orders);
      await direct.createProduct(admin, sku, 500, 3);
      expect(await direct.product(sku)).toMatchObject({ stock: 3, reserved: 0 });
      const waitingOutbox: Json[] = await direct.expect(200, 'GET', '/admin/outbox', { token: admin });
      expect(waitingOutbox).toMatchObject([{ module: 'inventory', pending: 1, published: 0 }]);

      await relay.start(); // the broker "comes up"
      await waitForOk(`http://127.0.0.1:${appPort}/health/ready`, 30_000, late);
      // its event went out through the broker: nothing left in the outbox
      await until(
        () => direct.expect(200, 'GET', '/admin/outbox', { token: admin }),
        (stats: Json[]) => stats.every((s) => s.pending === 0) && stats.some((s) => s.published > 0),
        15_000,
      );
      // and reached the rest of the deployment: the orders process catalogued the product
      await until(
        () => productEventsHandledByOrders(ports.orders),
        (handled) => handled === cataloguedBefore + 1,
        15_000,
      );
    } finally {
      await killGroup(late);
      await relay.stop();
      rmSync(lateDir, { recursive: true, force: true });
    }
  }, 90_000);

  it('stops every process on SIGTERM to the supervisor', async () => {
    supervisor.child.kill('SIGTERM');
    const exit = await Promise.race([
      supervisor.exited,
      new Promise<{ code: null; signal: 'timeout' }>((resolve) =>
        setTimeout(() => resolve({ code: null, signal: 'timeout' }), 30_000),
      ),
    ]);
    expect(exit, supervisor.tail(40)).toEqual({ code: 0, signal: null });
    const stopped = supervisor.matching(/^\[split\] \S+ stopped \(code 0\)$/);
    expect(stopped.length, supervisor.tail(40)).toBe(3 + instances);
  }, 40_000);
}

/** How many inventory.product-created events the orders process has handled (its /metrics). */
async function productEventsHandledByOrders(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter(
      (line) =>
        line.startsWith('bus_messages_handled_total{') &&
        line.includes('consumer="orders.catalogue"') &&
        line.includes('type="inventory.product-created"') &&
        line.includes('outcome="handled"'),
    )
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** A port p with p and p + 1 both free (an entry with two instances listens on both). */
async function consecutivePorts(count: number): Promise<number> {
  const listening = (port: number) =>
    new Promise<(() => Promise<void>) | undefined>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined));
      server.listen(port, '127.0.0.1', () =>
        resolve(() => new Promise((done) => server.close(() => done()))),
      );
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const [port = 0] = await freePorts(1);
    const held = await Promise.all(Array.from({ length: count - 1 }, (_, i) => listening(port + 1 + i)));
    await Promise.all(held.map((close) => close?.()));
    if (held.every((close) => close !== undefined)) return port;
  }
  throw new Error(`no ${count} consecutive free ports`);
}

describe('split deployment (real processes)', async () => {
  for (const transport of TRANSPORTS) {
    const reason = await skipReason(transport);
    if (reason === undefined) {
      describe(`on ${transport}`, () => splitSuite(transport));
    } else if (requireBrokers) {
      describe(`on ${transport}`, () => {
        it('needs its brokers (REQUIRE_BROKERS=1)', () => {
          throw new Error(reason);
        });
      });
    } else {
      console.warn(`[split] on ${transport}: skipped, ${reason}`);
      describe.skip(`on ${transport} (skipped: ${reason})`, () => {
        it('runs when the brokers answer', () => {});
      });
    }
  }
});
