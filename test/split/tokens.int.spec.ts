/**
 * Tokens in a split deployment, on RabbitMQ and on BullMQ: processes that do not run users (and
 * cannot read its database) refuse a demoted admin's and a deleted user's tokens within a short,
 * bounded time of the change, from their own copies of the account versions (users.account-changed,
 * consumers `<module>.account-versions`); a restarted process refuses them from its first request
 * (the copies are in its databases), and a process whose modules start only after the change
 * catches up from its queue (any start order). Each process is an app of its own in this test
 * process (its own kernel, broker connections and HTTP stack), as the split test's processes are;
 * the namespace is deleted afterwards. Skipped with the reason when a broker does not answer (a
 * failure with REQUIRE_BROKERS=1).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'amqplib';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, moduleCatalogue } from '../../src/app.js';
import { type HttpApp, loadConfig } from '../../src/kernel/index.js';
import {
  deadLetterQueue,
  endpointQueues,
  exchangeName,
  type Topology,
} from '../../src/kernel/messaging/transports/rabbitmq/topology.js';
import { catalogueTopology } from '../../src/kernel/modules/topology.js';
import { amqpSkipReason, amqpUrl, redisSkipReason, redisUrl } from '../../src/kernel/testing/index.js';
import { AccountsClient, bearer } from '../../src/modules/users/testing/accounts-client.js';

type Transport = 'rabbitmq' | 'bullmq';

const ADMIN = { email: 'admin@split-tokens.test', password: 'split-admin-password' };
const PASSWORD = 'split-user-password';
const PARTITIONS = 4;
/** What "within a short time" means here: the change reaches another process well within it. */
const BOUND_MS = 5000;
const requireBrokers = process.env.REQUIRE_BROKERS === '1';

async function deleteNamespace(transport: Transport, namespace: string): Promise<void> {
  if (transport === 'bullmq') {
    const redis = new Redis(redisUrl);
    try {
      const keys = await redis.keys(`${namespace}:*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
    return;
  }
  const t: Topology = { namespace: `${namespace}.`, partitions: PARTITIONS, queueType: 'classic' };
  const connection = await connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    for (const consumer of catalogueTopology(moduleCatalogue)) {
      for (const queue of endpointQueues(t, consumer.name)) await channel.deleteQueue(queue);
    }
    for (const module of moduleCatalogue) await channel.deleteQueue(deadLetterQueue(t, module.name));
    await channel.deleteExchange(exchangeName(t));
  } finally {
    await connection.close();
  }
}

/** Polls `attempt` until it answers `status`; the milliseconds that took (fails past BOUND_MS). */
async function msUntil(status: number, attempt: () => Promise<{ statusCode: number }>): Promise<number> {
  const started = performance.now();
  for (;;) {
    const { statusCode } = await attempt();
    const elapsed = performance.now() - started;
    if (statusCode === status) return elapsed;
    if (elapsed > BOUND_MS) throw new Error(`still ${statusCode} after ${Math.round(elapsed)} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.each([
  { transport: 'rabbitmq' as const, skip: await amqpSkipReason() },
  { transport: 'bullmq' as const, skip: await redisSkipReason() },
])('tokens across the processes of a split deployment on $transport', ({ transport, skip }) => {
  if (skip && !requireBrokers) console.warn(`[split tokens] ${transport} skipped: ${skip}`);
  const run = skip === undefined || requireBrokers;
  const namespace = `tokens-${transport}-${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'split-tokens-'));
  const apps: HttpApp[] = [];

  /** One process of the deployment, running `modules` (`ADMIN_*` only where users runs). */
  async function start(modules: string, extra: Record<string, string> = {}): Promise<HttpApp> {
    const env = {
      MODULES: modules,
      TRANSPORT: transport,
      BUS_NAMESPACE: namespace,
      BUS_PARTITIONS: String(PARTITIONS),
      REDIS_URL: redisUrl,
      AMQP_URL: amqpUrl,
      DATA_DIR: dataDir,
      JWT_SECRET: 'split-tokens-secret-0123456789abcdef0123',
      SERVICE_REGISTRY: 'off',
      RATE_LIMIT_STORE: 'memory',
      LOG_LEVEL: 'silent',
      ...extra,
    };
    const app = await buildApp(
      loadConfig(
        env,
        moduleCatalogue.map((m) => m.name),
      ),
    );
    apps.push(app);
    return app;
  }
  async function stop(app: HttpApp): Promise<void> {
    apps.splice(apps.indexOf(app), 1);
    await app.close();
  }

  let users: HttpApp;
  let shop: HttpApp;
  beforeAll(async () => {
    if (!run) return;
    if (skip) throw new Error(`${transport} is required (REQUIRE_BROKERS=1): ${skip}`);
    users = await start('users', { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    shop = await start('payments,inventory');
  }, 60_000);
  afterAll(async () => {
    for (const app of apps.splice(0)) await app.close();
    if (run && !skip) await deleteNamespace(transport, namespace);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const accounts = new AccountsClient(() => users, 'split-tokens.test', PASSWORD);
  /** A new account, signed in. */
  async function register(name: string): Promise<{ id: string; token: string }> {
    const { id, email } = await accounts.register(name);
    return { id, token: await accounts.login(email) };
  }
  const addProduct = (app: HttpApp, token: string) =>
    app.inject({
      method: 'POST',
      url: '/inventory/products',
      payload: { sku: `sku-${randomBytes(3).toString('hex')}`, name: 'Mug', priceCents: 100, stock: 1 },
      headers: bearer(token),
    });
  const deposit = (app: HttpApp, token: string) =>
    app.inject({
      method: 'POST',
      url: '/payments/deposits',
      payload: { amountCents: 100 },
      headers: bearer(token),
    });

  it.skipIf(!run)(
    'refuses a demoted admin and a deleted user on another process within a bounded time, and after its restart',
    { timeout: 90_000 },
    async () => {
      const admin = await accounts.login(ADMIN.email, ADMIN.password);
      const ann = await register('ann');
      const promote = (role: string) => accounts.setRole(admin, ann.id, role);
      expect((await promote('admin')).statusCode).toBe(200);
      const annAdmin = await accounts.login(accounts.emailOf('ann'));
      expect((await addProduct(shop, annAdmin)).statusCode).toBe(201);
      const bob = await register('bob');
      expect((await deposit(shop, bob.token)).statusCode).toBe(201);

      expect((await promote('user')).statusCode).toBe(200);
      const demotedAfterMs = await msUntil(401, () => addProduct(shop, annAdmin));
      const gone = await accounts.remove(admin, bob.id);
      expect(gone.statusCode).toBe(204);
      const deletedAfterMs = await msUntil(401, () => deposit(shop, bob.token));
      expect((await deposit(shop, bob.token)).json()).toMatchObject({ code: 'AUTH_TOKEN_REVOKED' });
      console.info(
        `[split tokens] ${transport}: demotion refused on the other process after ${Math.round(demotedAfterMs)} ms, deletion after ${Math.round(deletedAfterMs)} ms`,
      );

      // a restarted process refuses them from its first request: its copies are in its databases
      await stop(shop);
      shop = await start('payments,inventory');
      expect((await addProduct(shop, annAdmin)).json()).toMatchObject({ code: 'AUTH_TOKEN_REVOKED' });
      expect((await deposit(shop, bob.token)).json()).toMatchObject({ code: 'AUTH_TOKEN_REVOKED' });
      expect((await deposit(shop, ann.token)).statusCode).toBe(401); // her token from before both changes
      expect((await deposit(shop, await accounts.login(accounts.emailOf('ann')))).statusCode).toBe(201);

      // a module that starts only now reads the changes that waited in its queue meanwhile
      const late = await start('analytics');
      const caughtUpAfterMs = await msUntil(401, () =>
        late.inject({ url: '/analytics/summary', headers: bearer(annAdmin) }),
      );
      expect((await late.inject({ url: '/analytics/summary', headers: bearer(admin) })).statusCode).toBe(200);
      console.info(
        `[split tokens] ${transport}: a late process caught up after ${Math.round(caughtUpAfterMs)} ms`,
      );
    },
  );
});
