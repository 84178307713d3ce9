/**
 * Brokers for the bench: reachability (a row says why it is skipped), transports built through
 * the app's own `createTransport` (so a transport added there is picked up), unique namespaces,
 * and cleanup of everything a row declared.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';
import { Redis } from 'ioredis';
import { type Config, type Logger, loadConfig, type Transport } from '../../../src/kernel/index.js';
import { createTransport } from '../../../src/kernel/messaging/transports/index.js';
import { DEFAULT_PARTITIONS } from '../../../src/kernel/messaging/transports/partition.js';
import {
  deadLetterQueue,
  endpointQueues,
  exchangeName,
  type Topology,
} from '../../../src/kernel/messaging/transports/rabbitmq/topology.js';
import { createLogger } from '../../../src/kernel/observability/logger.js';
import { amqpSkipReason, amqpUrl, redisSkipReason, redisUrl } from '../../../src/kernel/testing/index.js';

export { amqpUrl, redisUrl };
export type BrokerTransport = 'bullmq' | 'rabbitmq';
export type QueueType = 'classic' | 'quorum';

export const newNamespace = (): string => `bench-${randomBytes(5).toString('hex')}`;

export function transportConfig(transport: BrokerTransport, namespace: string, queueType: QueueType): Config {
  return loadConfig(
    {
      TRANSPORT: transport,
      BUS_NAMESPACE: namespace,
      REDIS_URL: redisUrl,
      AMQP_URL: amqpUrl,
      RABBITMQ_QUEUE_TYPE: queueType,
      LOG_LEVEL: 'warn',
      DATA_DIR: '/nonexistent',
      JWT_SECRET: 'bench-secret-0123456789abcdef-0123456789abcdef',
    },
    [],
  );
}

/** The app's transport for these settings (createTransport of src/kernel). */
export function brokerTransport(
  transport: BrokerTransport,
  namespace: string,
  queueType: QueueType = 'classic',
): (log: Logger) => Promise<Transport> {
  return (log) => createTransport(transportConfig(transport, namespace, queueType), log);
}

/** Why this broker row cannot run here (broker away, transport not in createTransport), or undefined. */
export async function brokerSkipReason(transport: BrokerTransport): Promise<string | undefined> {
  const away = await (transport === 'bullmq' ? redisSkipReason() : amqpSkipReason());
  if (away) return `broker: ${away}`;
  return transportMissingReason(transport);
}

/** Undefined when `createTransport` builds this transport; the reason when it says it cannot. */
export async function transportMissingReason(transport: BrokerTransport): Promise<string | undefined> {
  try {
    const built = await createTransport(
      transportConfig(transport, newNamespace(), 'classic'),
      createLogger('silent'),
    );
    await built.close();
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return `the ${transport} transport is not in createTransport yet (${message})`;
  }
}

export const rawSkipReason = async (transport: BrokerTransport): Promise<string | undefined> => {
  const away = await (transport === 'bullmq' ? redisSkipReason() : amqpSkipReason());
  return away ? `broker: ${away}` : undefined;
};

/** Deletes every key under `<prefix>:` (BullMQ queues and the transport's own keys). */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Deletes queues and exchanges by name (missing ones are fine). */
export async function deleteRabbit(
  queues: readonly string[],
  exchanges: readonly string[] = [],
): Promise<void> {
  const connection = await connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    for (const queue of queues) await channel.deleteQueue(queue);
    for (const exchange of exchanges) await channel.deleteExchange(exchange);
    await channel.close();
  } finally {
    await connection.close();
  }
}

/** Deletes what the RabbitMQ transport declared for these consumers under `namespace`. */
export async function deleteRabbitTransport(namespace: string, consumers: readonly string[]): Promise<void> {
  // createTransport maps BUS_NAMESPACE `ns` to the name prefix `ns.`; transportConfig leaves
  // BUS_PARTITIONS at its default.
  const topology: Topology = {
    namespace: `${namespace}.`,
    partitions: DEFAULT_PARTITIONS,
    queueType: 'classic',
  };
  const modules = [...new Set(consumers.map((consumer) => consumer.split('.')[0] ?? consumer))];
  const queues = [
    ...consumers.flatMap((consumer) => endpointQueues(topology, consumer)),
    ...modules.map((module) => deadLetterQueue(topology, module)),
  ];
  await deleteRabbit(queues, [exchangeName(topology)]);
}

/** Cleans up a namespace on either broker; never throws (a leftover is logged). */
export async function cleanupNamespace(
  transport: BrokerTransport,
  namespace: string,
  consumers: readonly string[],
): Promise<void> {
  try {
    if (transport === 'bullmq') await deleteRedisPrefix(namespace);
    else await deleteRabbitTransport(namespace, consumers);
  } catch (error) {
    process.stderr.write(`[bench] cleanup of ${transport} namespace ${namespace} failed: ${String(error)}\n`);
  }
}

/** Server versions for the report ("RabbitMQ 3.10.8", "Redis 7.0.15"). */
export async function brokerVersions(): Promise<string[]> {
  const versions: string[] = [];
  if (!(await amqpSkipReason())) {
    try {
      const connection = await connect(amqpUrl);
      const properties = (connection.connection as unknown as { serverProperties?: Record<string, unknown> })
        .serverProperties;
      versions.push(`RabbitMQ ${String(properties?.version ?? '?')}`);
      await connection.close();
    } catch {
      versions.push('RabbitMQ (version unknown)');
    }
  }
  if (!(await redisSkipReason())) {
    const redis = new Redis(redisUrl, { lazyConnect: true });
    try {
      await redis.connect();
      const info = await redis.info('server');
      versions.push(`Redis ${/redis_version:(\S+)/.exec(info)?.[1] ?? '?'}`);
    } catch {
      versions.push('Redis (version unknown)');
    } finally {
      redis.disconnect();
    }
  }
  return versions;
}
