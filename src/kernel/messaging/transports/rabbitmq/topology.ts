/**
 * RabbitMQ topology of the transport (no plugin needed):
 *
 * - one durable topic exchange `modulith.events` carries every message (events and commands);
 *   the routing key is `<type>.p<partition>`, partition = FNV-1a(partitionkey) mod N, computed by
 *   the publisher, so every process must use the same N (BUS_PARTITIONS, default 16; a consumer
 *   refuses to start when its queues exist with another N: partition-count.ts). A tap can bind
 *   `<type>.*`.
 * - each consumer endpoint has N durable partition queues `<consumer>.p<i>`, each bound with
 *   `<type>.p<i>` for every type the endpoint handles, declared with `x-single-active-consumer`:
 *   with several instances one consumer is active per partition, which keeps per-key order.
 * - instances of an endpoint share its partitions (consumer.ts, share.ts): each consumes the
 *   members queue `<consumer>.members` (never given a message; its consumer count is the number
 *   of live instances), and `<consumer>.below-floor` or `<consumer>.above-floor` while it holds
 *   fewer or more than its floor share; it holds a partition by owning the exclusive queue
 *   `<consumer>.p<i>.lock`.
 * - each consumer module has a durable `dlq.<module>.retry` queue (default exchange) holding a copy
 *   of every dead-lettered message with `x-error`, `x-attempts` and `x-consumer` headers.
 *
 * A namespace (tests use a random one) prefixes every exchange and queue name.
 */
import type { Channel } from 'amqplib';
import { ConfigError } from '../../../env-readers.js';
import { deadLetterQueueName } from '../../dead-letters.js';
import type { ConsumerEndpoint, ConsumerTopology } from '../../transport.js';

export type RabbitQueueType = 'classic' | 'quorum';

export interface Topology {
  /** Prefix of every exchange and queue name ('' in production). */
  readonly namespace: string;
  readonly partitions: number;
  readonly queueType: RabbitQueueType;
}

/** The broker-side DLQ keeps at most this many messages (oldest dropped): it is a copy for tooling. */
export const DEAD_LETTER_QUEUE_MAX_LENGTH = 100_000;

export const exchangeName = (t: Topology): string => `${t.namespace}modulith.events`;
export const partitionQueue = (t: Topology, consumer: string, partition: number): string =>
  `${t.namespace}${consumer}.p${partition}`;
export const partitionQueues = (t: Topology, consumer: string): string[] =>
  Array.from({ length: t.partitions }, (_, i) => partitionQueue(t, consumer, i));
/** Consumed by every live instance of the endpoint. */
export const memberQueue = (t: Topology, consumer: string): string => `${t.namespace}${consumer}.members`;
/** Exclusive to the connection holding partition i; RabbitMQ deletes it when that connection ends. */
export const lockQueue = (t: Topology, consumer: string, partition: number): string =>
  `${t.namespace}${consumer}.p${partition}.lock`;
/** Consumed by the instances holding fewer partitions than their floor share (share.ts). */
export const belowFloorQueue = (t: Topology, consumer: string): string =>
  `${t.namespace}${consumer}.below-floor`;
/** Consumed by the instances holding more partitions than their floor share (share.ts). */
export const aboveFloorQueue = (t: Topology, consumer: string): string =>
  `${t.namespace}${consumer}.above-floor`;
/** Every durable or shared queue of an endpoint (partitions, members, marks): what a cleanup deletes. */
export const endpointQueues = (t: Topology, consumer: string): string[] => [
  ...partitionQueues(t, consumer),
  memberQueue(t, consumer),
  belowFloorQueue(t, consumer),
  aboveFloorQueue(t, consumer),
];
/** Members and marker queues: never given a message; unused for an hour (endpoint retired), they go. */
export const markerQueueOptions = {
  durable: false,
  arguments: { 'x-queue-type': 'classic', 'x-expires': 3_600_000 },
};
export const deadLetterQueue = (t: Topology, module: string): string =>
  `${t.namespace}${deadLetterQueueName(module)}`;
export const routingKey = (type: string, partition: number): string => `${type}.p${partition}`;

export async function declareExchange(channel: Channel, t: Topology): Promise<void> {
  await channel.assertExchange(exchangeName(t), 'topic', { durable: true });
}

/**
 * Declares (idempotently) a consumer's durable topology: its partition queues, the bindings of
 * its `types`, and its module's DLQ. What a process provisions for every consumer of the
 * catalogue, running here or not. The partition queues are declared last to first, so `p0`
 * exists only once all of them do: the partition count is read from them (partition-count.ts).
 */
export async function declareConsumerQueues(
  channel: Channel,
  t: Topology,
  consumer: ConsumerTopology,
): Promise<void> {
  for (const queue of partitionQueues(t, consumer.name).reverse()) {
    await channel.assertQueue(queue, {
      durable: true,
      arguments: { 'x-queue-type': t.queueType, 'x-single-active-consumer': true },
    });
  }
  await bindTypes(channel, t, consumer.name, consumer.types);
  await channel.assertQueue(deadLetterQueue(t, consumer.module), {
    durable: true,
    arguments: { 'x-queue-type': t.queueType, 'x-max-length': DEAD_LETTER_QUEUE_MAX_LENGTH },
  });
}

/** A running endpoint: its durable topology, and the members and marker queues its instances share. */
export async function declareEndpoint(
  channel: Channel,
  t: Topology,
  endpoint: ConsumerEndpoint,
): Promise<void> {
  await declareConsumerQueues(channel, t, endpoint);
  for (const queue of [memberQueue, belowFloorQueue, aboveFloorQueue]) {
    await channel.assertQueue(queue(t, endpoint.name), markerQueueOptions);
  }
}

/**
 * Binds each type to its partition queue of the consumer (idempotent). Bindings of durable queues
 * are durable: never removed here, so no instance unbinds a type another instance has routed.
 */
export async function bindTypes(
  channel: Channel,
  t: Topology,
  consumer: string,
  types: readonly string[],
): Promise<void> {
  const exchange = exchangeName(t);
  for (let i = 0; i < t.partitions; i++) {
    const queue = partitionQueue(t, consumer, i);
    for (const type of types) await channel.bindQueue(queue, exchange, routingKey(type, i));
  }
}

/** True for the channel error RabbitMQ raises when a queue exists with other arguments (406). */
export function isPreconditionFailed(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === 406;
}

/**
 * Explains a failed declaration; a 406 means the queue was declared before with other arguments.
 * A ConfigError (another partition count) is already the one line to show: it goes as it is.
 */
export function declarationError(error: unknown, t: Topology, consumer: string): Error {
  if (error instanceof ConfigError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  if (!isPreconditionFailed(error))
    return new Error(`RabbitMQ: declaring the queues of ${consumer} failed: ${reason}`);
  return new Error(
    `RabbitMQ: a queue of ${consumer} exists with other arguments (${reason}). ` +
      `RABBITMQ_QUEUE_TYPE=${t.queueType} cannot change an existing queue: keep the old type, or drain ` +
      'and delete the queues so they are declared again.',
  );
}
