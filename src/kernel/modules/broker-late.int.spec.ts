/**
 * A kernel started while its broker is away, on RabbitMQ and on BullMQ, the broker "coming up"
 * later through a TCP relay the test opens: start resolves without the bus, a message staged by a
 * module meanwhile waits in its outbox (pending), and once the relay opens the consumer is
 * subscribed, the message published and handled once, and readiness passes. A namespace per test,
 * deleted afterwards. Skipped without the brokers (a failure with REQUIRE_BROKERS=1).
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'amqplib';
import { Redis } from 'ioredis';
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { defineEvent } from '../messaging/message-types.js';
import { on } from '../messaging/subscription.js';
import type { Transport } from '../messaging/transport.js';
import { createBullMqTransport } from '../messaging/transports/bullmq/bullmq.js';
import { createRabbitMqTransport } from '../messaging/transports/rabbitmq/rabbitmq.js';
import {
  deadLetterQueue,
  endpointQueues,
  exchangeName,
  type Topology,
} from '../messaging/transports/rabbitmq/topology.js';
import type { Logger } from '../observability/logger.js';
import {
  amqpSkipReason,
  amqpUrl,
  eventually,
  freePort,
  redisSkipReason,
  redisUrl,
  startTestKernel,
  TcpRelay,
} from '../testing/index.js';
import { defineModule } from './module.js';

const pinged = defineEvent({
  type: 'late.pinged',
  schema: Type.Object({ n: Type.Integer() }),
  partitionKey: () => 'p',
});
const CONSUMER = 'late.pings';
const PARTITIONS = 4;

/** A module whose consumer receives its own event, recording each delivery's message id. */
function lateModule(received: string[]) {
  return defineModule({
    name: 'late',
    messages: [pinged],
    subscriptions: [
      {
        consumer: CONSUMER,
        handlers: [
          on([pinged], (message) => {
            received.push(message.id);
          }),
        ],
      },
    ],
  });
}

interface Broker {
  readonly name: 'RabbitMQ' | 'Redis';
  readonly url: string;
  readonly defaultPort: number;
  readonly env: (url: string) => Record<string, string>;
  readonly transport: (url: string, namespace: string) => (log: Logger) => Transport;
  /** Deletes what the test made on the broker. */
  readonly cleanUp: (namespace: string) => Promise<void>;
}

const rabbitmq: Broker = {
  name: 'RabbitMQ',
  url: amqpUrl,
  defaultPort: 5672,
  env: (url) => ({ TRANSPORT: 'rabbitmq', AMQP_URL: url }),
  transport: (url, namespace) => (log) =>
    createRabbitMqTransport(log, { url, namespace: `${namespace}.`, partitions: PARTITIONS }),
  async cleanUp(namespace) {
    const topology: Topology = { namespace: `${namespace}.`, partitions: PARTITIONS, queueType: 'classic' };
    const connection = await connect(amqpUrl);
    try {
      const channel = await connection.createChannel();
      for (const queue of [...endpointQueues(topology, CONSUMER), deadLetterQueue(topology, 'late')]) {
        await channel.deleteQueue(queue);
      }
      await channel.deleteExchange(exchangeName(topology));
    } finally {
      await connection.close();
    }
  },
};

const bullmq: Broker = {
  name: 'Redis',
  url: redisUrl,
  defaultPort: 6379,
  env: (url) => ({ TRANSPORT: 'bullmq', REDIS_URL: url }),
  transport: (url, namespace) => (log) =>
    createBullMqTransport(log, { url, prefix: namespace, partitions: PARTITIONS }),
  async cleanUp(namespace) {
    const redis = new Redis(redisUrl);
    try {
      const keys = await redis.keys(`${namespace}:*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      await redis.quit();
    }
  },
};

const requireBrokers = process.env.REQUIRE_BROKERS === '1';

describe.each([
  { broker: rabbitmq, skip: await amqpSkipReason() },
  { broker: bullmq, skip: await redisSkipReason() },
])('a broker that comes up after the start: $broker.name', ({ broker, skip }) => {
  if (skip && !requireBrokers) console.warn(`[broker late] ${broker.name} skipped: ${skip}`);

  it.skipIf(skip !== undefined && !requireBrokers)(
    'serves without it, keeps a staged message pending, then subscribes, publishes it and handles it once',
    { timeout: 30_000 },
    async () => {
      if (skip) throw new Error(`${broker.name} is required (REQUIRE_BROKERS=1): ${skip}`);
      const relay = TcpRelay.to(broker.url, broker.defaultPort, await freePort());
      const lateUrl = new URL(broker.url);
      lateUrl.port = String(relay.port);
      const namespace = `late-${randomUUID().slice(0, 8)}`;
      const received: string[] = [];
      const startedAt = Date.now();
      const tk = await startTestKernel({
        modules: [lateModule(received)],
        env: { ...broker.env(lateUrl.toString()), BUS_NAMESPACE: namespace, JWT_SECRET: 'x'.repeat(32) },
        transport: broker.transport(lateUrl.toString(), namespace),
        brokerWaitMs: 1000,
      });
      try {
        // start resolved without the bus, saying why in readiness
        expect(Date.now() - startedAt).toBeLessThan(5000);
        const { kernel } = tk;
        expect(kernel.started).toBe(false);
        const waiting = await kernel.health();
        expect(waiting.subscriptions?.status).toBe('fail');
        expect(waiting.subscriptions?.detail).toContain(`waiting for ${broker.name} at `);
        expect(waiting.subscriptions?.detail).toContain(`127.0.0.1:${relay.port}`);

        // a command of the module meanwhile: accepted into the outbox, pending there
        const [staged] = await tk.context('late').transact((tx) => tx.stage(pinged({ n: 1 })));
        expect(await kernel.outboxStats()).toMatchObject([{ module: 'late', pending: 1, published: 0 }]);
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(await kernel.outboxStats()).toMatchObject([{ pending: 1 }]);
        expect(received).toEqual([]);

        await relay.start(); // the broker "comes up"
        await eventually(async () => expect(received).toEqual([staged?.id]), {
          timeoutMs: 20_000,
          intervalMs: 50,
        });
        await eventually(
          async () => {
            const checks = await kernel.health();
            expect(Object.values(checks).map((check) => check.status)).toEqual(
              Object.values(checks).map(() => 'pass'),
            );
          },
          { timeoutMs: 5000, intervalMs: 50 },
        );
        expect(kernel.started).toBe(true);
        // the consumer may handle the message before the relay has marked its row published
        await eventually(
          async () => expect(await kernel.outboxStats()).toMatchObject([{ pending: 0, published: 1 }]),
          {
            timeoutMs: 5000,
            intervalMs: 50,
          },
        );
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(received).toEqual([staged?.id]); // once
      } finally {
        await tk.dispose();
        await relay.stop();
        await broker.cleanUp(namespace);
      }
    },
  );
});
