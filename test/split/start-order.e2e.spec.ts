/**
 * Any start order, through real processes, on RabbitMQ and on BullMQ: a process running
 * `users,inventory` creates a product and registers a user, its outbox publishes both events, and
 * only then is the process running `orders,payments,notifications` started for the first time
 * (no queue of its consumers was ever subscribed). Every process provisions the topology of the
 * whole catalogue before it publishes, so both events wait for their consumers: the order for
 * that product is accepted and confirmed, and the user's notification greets them by the name
 * from the registration (a notification without the contact has no greeting).
 *
 * Skipped with a printed reason when a broker does not answer; a failure with REQUIRE_BROKERS=1.
 * SPLIT_TRANSPORTS=bullmq runs one transport only.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupNamespace } from '../../scripts/bench/lib/brokers.js';
import { moduleCatalogue } from '../../src/app.js';
import { catalogueTopology } from '../../src/kernel/modules/topology.js';
import { amqpSkipReason, redisSkipReason } from '../../src/kernel/testing/index.js';
import { Api, type Json, until } from './api.js';
import { deploymentEnv, freePorts, killGroup, type Proc, startApp, waitForOk } from './cluster.js';

type Transport = 'rabbitmq' | 'bullmq';

const JWT_SECRET = 'start-order-secret-0123456789abcdef0123456789ab';
const ADMIN_EMAIL = 'admin@start-order.test';
const ADMIN_PASSWORD = 'start-order-admin-password';
const READY_TIMEOUT_MS = 90_000;
const requireBrokers = process.env.REQUIRE_BROKERS === '1';
const TRANSPORTS = (['rabbitmq', 'bullmq'] as const).filter((t) =>
  (process.env.SPLIT_TRANSPORTS ?? 'rabbitmq,bullmq').split(',').includes(t),
);

async function skipReason(transport: Transport): Promise<string | undefined> {
  const redis = await redisSkipReason();
  if (redis) return `Redis: ${redis}`;
  return transport === 'rabbitmq' ? amqpSkipReason() : undefined;
}

for (const transport of TRANSPORTS) {
  const skip = await skipReason(transport);
  if (skip && !requireBrokers) console.warn(`[start order ${transport}] skipped: ${skip}`);

  describe.skipIf(skip !== undefined && !requireBrokers)(`start order on ${transport}`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), `start-order-${transport}-`));
    const namespace = `order-${transport}-${randomBytes(4).toString('hex')}`;
    const processes: Proc[] = [];

    const start = async (modules: string, port: number): Promise<Api> => {
      const proc = startApp(modules, {
        ...deploymentEnv({
          transport,
          dataDir,
          namespace,
          jwtSecret: JWT_SECRET,
          admin: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
        }),
        MODULES: modules,
        PORT: String(port),
      });
      processes.push(proc);
      await waitForOk(`http://127.0.0.1:${port}/health/ready`, READY_TIMEOUT_MS, proc);
      return new Api(`http://127.0.0.1:${port}`);
    };

    afterAll(async () => {
      for (const proc of processes) await killGroup(proc);
      rmSync(dataDir, { recursive: true, force: true });
      const consumers = catalogueTopology(moduleCatalogue).map((consumer) => consumer.name);
      await cleanupNamespace(transport, namespace, consumers);
    });

    it('delivers what the first process published to the consumers of a process started afterwards', async () => {
      if (skip) throw new Error(`start order on ${transport} cannot run: ${skip}`);
      const [firstPort = 0, laterPort = 0] = await freePorts(2);

      const first = await start('users,inventory', firstPort);
      const admin = await first.login(ADMIN_EMAIL, ADMIN_PASSWORD);
      const sku = `early-${randomBytes(3).toString('hex')}`;
      await first.createProduct(admin, sku, 1250, 5);
      const ada = await first.register('Ada');
      // both events have left the first process's outbox before any consumer of them ever ran
      await until(
        () => first.expect(200, 'GET', '/admin/outbox', { token: admin }),
        (outboxes: Json[]) => outboxes.every((o) => o.pending === 0 && o.published > 0),
        20_000,
      );

      const later = await start('orders,payments,notifications', laterPort);
      await later.deposit(ada.token, 5000);
      const order = await later.placeOrder(ada.token, [{ sku, quantity: 2 }]); // the product is known
      const outcome = (await later.waitForTerminal(ada.token, [order.id], 30_000)).get(order.id);
      expect(outcome).toMatchObject({ status: 'confirmed', totalCents: 2500 });
      const notifications: Json[] = await until(
        async () => (await later.expect(200, 'GET', '/notifications', { token: ada.token })).items,
        (items: Json[]) => items.length > 0,
        20_000,
      );
      // addressed by name: the contact from user-registered, published before this process first started
      expect(notifications.map((n) => n.body.split('\n')[0])).toEqual(['Hello Ada,']);
      expect(await first.product(sku)).toMatchObject({ stock: 3, reserved: 2 });
    });
  });
}
