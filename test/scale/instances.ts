/**
 * Several instances of a module in one test process, as separate processes of one deployment
 * would be: each a kernel of its own with its own broker connection, all sharing one DATA_DIR
 * (SQLite in WAL, a busy timeout) and one BUS_NAMESPACE, with BUS_PARTITIONS left at its default.
 * The transports are the app's, with faster balancing rounds so a test sees the split settle in
 * about a second (RabbitMQ rounds every 200 ms; BullMQ leases of 1.5 s, renewed every 500 ms).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'amqplib';
import { Redis } from 'ioredis';
import { afterEach, type TestContext } from 'vitest';
import { type Config, loadConfig, type ModuleDefinition, type Transport } from '../../src/kernel/index.js';
import { createBullMqTransport } from '../../src/kernel/messaging/transports/bullmq/bullmq.js';
import { createRabbitMqTransport } from '../../src/kernel/messaging/transports/rabbitmq/rabbitmq.js';
import {
  deadLetterQueue,
  endpointQueues,
  exchangeName,
  type Topology,
} from '../../src/kernel/messaging/transports/rabbitmq/topology.js';
import type { Logger } from '../../src/kernel/observability/logger.js';
import {
  amqpSkipReason,
  amqpUrl,
  redisSkipReason,
  redisUrl,
  startTestKernel,
  type TestKernel,
} from '../../src/kernel/testing/index.js';

export type Broker = 'bullmq' | 'rabbitmq';

/** Both brokers, for `describe.each(BROKERS)`. */
export const BROKERS: readonly Broker[] = ['bullmq', 'rabbitmq'];

const skipReasons: Record<Broker, () => Promise<string | undefined>> = {
  bullmq: redisSkipReason,
  rabbitmq: amqpSkipReason,
};

/**
 * A new Deployment per test on a broker, disposed after the test (its instances stopped, its data
 * directory and the namespace's keys or the queues of `consumers` deleted). A test whose broker
 * does not answer is skipped with the reason.
 */
export function useDeployment(
  consumers: readonly string[],
): (broker: Broker, context: TestContext) => Promise<Deployment> {
  let current: Deployment | undefined;
  afterEach(async () => {
    await current?.dispose(consumers);
    current = undefined;
  });
  return async (broker, context) => {
    const skip = await skipReasons[broker]();
    if (skip) context.skip(skip);
    current = new Deployment(broker);
    return current;
  };
}

export class Deployment {
  readonly namespace = `scale-${randomBytes(5).toString('hex')}`;
  readonly dataDir = mkdtempSync(join(tmpdir(), 'scale-'));
  readonly config: Config;
  readonly #kernels: TestKernel[] = [];

  constructor(readonly broker: Broker) {
    this.config = loadConfig(this.#env(), []);
  }

  /**
   * Starts an instance running `modules` (of a build whose modules are `catalogue`, default
   * `modules`); every instance is stopped by `dispose`.
   */
  async start(
    modules: readonly ModuleDefinition[],
    name: string,
    catalogue: readonly ModuleDefinition[] = modules,
  ): Promise<TestKernel> {
    const kernel = await startTestKernel({
      modules,
      catalogue,
      env: this.#env(),
      dataDir: this.dataDir,
      transport: (log) => this.#transport(log, name),
    });
    this.#kernels.push(kernel);
    return kernel;
  }

  /** Stops every instance, then deletes the data directory and what the namespace holds on the broker. */
  async dispose(consumers: readonly string[]): Promise<void> {
    for (const kernel of this.#kernels.splice(0)) await kernel.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
    if (this.broker === 'bullmq') await this.#deleteRedisKeys();
    else await this.#deleteRabbitTopology(consumers);
  }

  #env(): Record<string, string> {
    return {
      TRANSPORT: this.broker,
      BUS_NAMESPACE: this.namespace,
      REDIS_URL: redisUrl,
      AMQP_URL: amqpUrl,
      JWT_SECRET: 'scale-spec-secret-0123456789abcdef',
    };
  }

  #transport(log: Logger, name: string): Transport {
    const { config } = this;
    if (this.broker === 'bullmq') {
      return createBullMqTransport(log, {
        url: config.redisUrl,
        prefix: config.busNamespace,
        partitions: config.busPartitions,
        leaseTtlMs: 1500,
        blockTimeoutSec: 1,
        instanceId: name,
      });
    }
    return createRabbitMqTransport(log, {
      url: config.amqpUrls,
      namespace: `${config.busNamespace}.`,
      partitions: config.busPartitions,
      balanceIntervalMs: 200,
      connectionName: `modulith-test ${this.namespace} ${name}`,
    });
  }

  async #deleteRedisKeys(): Promise<void> {
    const redis = new Redis(redisUrl);
    try {
      const keys = await redis.keys(`${this.namespace}:*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  }

  async #deleteRabbitTopology(consumers: readonly string[]): Promise<void> {
    const t: Topology = {
      namespace: `${this.namespace}.`,
      partitions: this.config.busPartitions,
      queueType: 'classic',
    };
    const modules = new Set(consumers.map((consumer) => consumer.split('.')[0] ?? consumer));
    const connection = await connect(amqpUrl);
    try {
      const channel = await connection.createChannel();
      for (const consumer of consumers)
        for (const queue of endpointQueues(t, consumer)) await channel.deleteQueue(queue);
      for (const module of modules) await channel.deleteQueue(deadLetterQueue(t, module));
      await channel.deleteExchange(exchangeName(t));
    } finally {
      await connection.close();
    }
  }
}

/** Deliveries of `consumer` this kernel counted as handled (its own bus_messages_handled_total). */
export async function handledBy(kernel: TestKernel, consumer: string): Promise<number> {
  const { values } = await kernel.kernel.metrics.handled.get();
  return values
    .filter(({ labels }) => labels.consumer === consumer && labels.outcome === 'handled')
    .reduce((sum, { value }) => sum + value, 0);
}

/** The partitions of `consumer` this kernel works now. */
export async function partitionsOf(kernel: TestKernel, consumer: string): Promise<readonly number[]> {
  const stats = await kernel.kernel.transport.stats();
  return stats.find((s) => s.consumer === consumer)?.partitions ?? [];
}
