/**
 * Broker rows: each transport (through createTransport, with a consumer endpoint that only parses
 * the message) against its raw library doing the same work with the same durability and the same
 * prefetch / concurrency, plus the kernel's whole path on the broker.
 */
import { once } from 'node:events';
import { connect } from 'amqplib';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger } from '../../../src/kernel/observability/logger.js';
import {
  amqpUrl,
  type BrokerTransport,
  brokerTransport,
  cleanupNamespace,
  deleteRabbit,
  deleteRedisPrefix,
  newNamespace,
  type QueueType,
  redisUrl,
} from '../lib/brokers.js';
import { BENCH_TYPE, benchEnvelope, countingEndpoint, numberOf } from '../lib/messages.js';
import { measurePath, type PathFigures, type PathPlan, Tracker } from '../lib/path.js';

/** Unacked deliveries per consumer: the RabbitMQ transport's default (64, spread over its partitions). */
export const PREFETCH = 64;
/** Handlers at once: the transports' endpoint concurrency and the raw BullMQ Worker's. */
export const CONCURRENCY = 16;

/** Raw amqplib: persistent messages to one durable queue, a confirm wait per batch, manual acks. */
export async function rawAmqp(queueType: QueueType, plan: PathPlan): Promise<PathFigures> {
  const queue = `${newNamespace()}.raw-${queueType}`;
  const connection = await connect(amqpUrl, { noDelay: true });
  const tracker = new Tracker();
  try {
    const publisher = await connection.createConfirmChannel();
    const consumer = await connection.createChannel();
    await consumer.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': queueType } });
    await consumer.prefetch(PREFETCH);
    await consumer.consume(queue, (message) => {
      if (!message) return;
      tracker.handled(numberOf(message.content));
      consumer.ack(message);
    });
    const publish = async (numbers: readonly number[]) => {
      for (const n of numbers) {
        const envelope = benchEnvelope(n);
        const content = Buffer.from(JSON.stringify(envelope));
        const properties = { persistent: true, contentType: 'application/json', messageId: envelope.id };
        if (!publisher.sendToQueue(queue, content, properties)) await once(publisher, 'drain');
      }
      await publisher.waitForConfirms();
    };
    return await measurePath(tracker, publish, plan);
  } finally {
    await connection.close().catch(() => {});
    await deleteRabbit([queue]).catch(() => {});
  }
}

/** Raw BullMQ: Queue.addBulk per batch (job id = message id, removed on completion) and a Worker. */
export async function rawBullMq(plan: PathPlan): Promise<PathFigures> {
  const prefix = newNamespace();
  const options = { maxRetriesPerRequest: null };
  const queueConnection = new Redis(redisUrl, options);
  const workerConnection = new Redis(redisUrl, options);
  const tracker = new Tracker();
  const queue = new Queue('raw', { connection: queueConnection, prefix });
  const worker = new Worker(
    'raw',
    async (job) => {
      tracker.handled(numberOf(job.data as string));
    },
    { connection: workerConnection, prefix, concurrency: CONCURRENCY },
  );
  try {
    await worker.waitUntilReady();
    const publish = async (numbers: readonly number[]) => {
      await queue.addBulk(
        numbers.map((n) => {
          const envelope = benchEnvelope(n);
          const opts = { jobId: envelope.id, removeOnComplete: true, removeOnFail: 1000, attempts: 1 };
          return { name: BENCH_TYPE, data: JSON.stringify(envelope), opts };
        }),
      );
    };
    return await measurePath(tracker, publish, plan);
  } finally {
    await worker.close().catch(() => {});
    await queue.close().catch(() => {});
    queueConnection.disconnect();
    workerConnection.disconnect();
    await deleteRedisPrefix(prefix).catch(() => {});
  }
}

/** The app's transport, publish (one call per batch) → handled by an endpoint that parses the message. */
export async function transportPath(
  transport: BrokerTransport,
  queueType: QueueType,
  plan: PathPlan,
): Promise<PathFigures> {
  const namespace = newNamespace();
  const log = createLogger('warn');
  const bus = await brokerTransport(transport, namespace, queueType)(log);
  const tracker = new Tracker();
  const endpoint = countingEndpoint(CONCURRENCY, tracker.handled);
  try {
    await bus.subscribe(endpoint);
    const publish = (numbers: readonly number[]) => bus.publish(numbers.map(benchEnvelope));
    return await measurePath(tracker, publish, plan);
  } finally {
    await bus.close().catch(() => {});
    await cleanupNamespace(transport, namespace, [endpoint.name]);
  }
}
