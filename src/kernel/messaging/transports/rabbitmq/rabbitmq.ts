/**
 * RabbitMQ transport (AMQP 0-9-1, amqplib). Topology in topology.ts, connection and
 * reconnection in link.ts (failover across a cluster's nodes: node-list.ts), consuming in consumer.ts and partition.ts, publishing in publish.ts.
 *
 * - provisioning: every process declares the durable topology of every consumer of the catalogue
 *   (partition queues, bindings, DLQ), so a message published before its consumer ever ran waits
 *   in its queue; redeclared on every new connection.
 * - publish: persistent JSON envelopes on a confirm channel, every message of a call written,
 *   then one bounded wait for their confirms; rejects when the broker is away (the outbox keeps
 *   the rows and the relay retries). A message of a type some consumer takes goes `mandatory`:
 *   one that no queue took comes back (basic.return, before its confirm), and the publish rejects
 *   with an UnroutedError after declaring the topology again.
 * - per-key order: partition queues by hash of `partitionkey`, each consumed by one instance at a
 *   time (instances split them: consumer.ts), and key lanes per endpoint (ordered per key,
 *   bounded concurrency, retries in process with the key held and no slot taken, ack once settled).
 * - a paused endpoint (its flow: a dependency of its handler is down) starts nothing and acks
 *   nothing, so the broker stops pushing once each partition channel has its prefetch unacked;
 *   the rest waits in the queues (depth) until the flow resumes.
 * - dead letters: the consumer records them in its database (the source of truth for list, replay
 *   and delete); a copy goes to `dlq.<module>.retry` for broker-native tooling.
 * - stats: depth = ready messages in the endpoint's partition queues; lag = depth + deliveries
 *   this process holds unsettled.
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { ConfigError } from '../../../env-readers.js';
import type { Logger } from '../../../observability/logger.js';
import { withTimeout } from '../../../time.js';
import type { Envelope } from '../../envelope.js';
import { UnroutedError } from '../../errors.js';
import type {
  ConsumerEndpoint,
  ConsumerStats,
  ConsumerTopology,
  Transport,
  TransportHealth,
} from '../../transport.js';
import { partitionCount, partitionOf } from '../partition.js';
import { RabbitConsumer } from './consumer.js';
import { defaultConnectionName, RabbitLink } from './link.js';
import { checkPartitionCount, type OpenChannel } from './partition-count.js';
import {
  deadLetterProperties,
  partitionKeyOf,
  publishEnvelopes,
  replayProperties,
  sendToQueue,
} from './publish.js';
import {
  bindTypes,
  deadLetterQueue,
  declarationError,
  declareConsumerQueues,
  declareEndpoint,
  declareExchange,
  isPreconditionFailed,
  partitionQueue,
  partitionQueues,
  type RabbitQueueType,
  type Topology,
} from './topology.js';

export interface RabbitMqOptions {
  /** A node, or the nodes of a cluster in the order to try them (link.ts, node-list.ts). */
  readonly url: string | readonly [string, ...string[]];
  /** classic (default) or quorum (what a cluster should use); fixed once a queue exists. */
  readonly queueType?: RabbitQueueType;
  /**
   * Partition queues per consumer (BUS_PARTITIONS; default 16); every process of a deployment must
   * agree: subscribe fails with a ConfigError when the consumer's queues exist with another count.
   */
  readonly partitions?: number;
  /** Unacked deliveries per consumer endpoint, spread over its partitions (default 64). */
  readonly prefetch?: number;
  /** How often each endpoint rebalances its partitions between live instances (default 1 s). */
  readonly balanceIntervalMs?: number;
  /** Prefix of every exchange and queue name (tests; default ''). */
  readonly namespace?: string;
  readonly connectionName?: string;
  /** How long start may wait for a first connection before failing naming AMQP_URL (default 30 s). */
  readonly connectTimeoutMs?: number;
  /** Bound of a publish: waiting for a connection, then for the confirms (default 10 s). */
  readonly publishTimeoutMs?: number;
  readonly reconnectInitialDelayMs?: number;
  readonly reconnectMaxDelayMs?: number;
  readonly heartbeatSeconds?: number;
}

/** Stats feed metrics and the dashboard: answer fast, or fail, while the broker is away. */
const STATS_TIMEOUT_MS = 3000;

export function createRabbitMqTransport(log: Logger, options: RabbitMqOptions): Transport {
  return new RabbitMqTransport(log.child({ transport: 'rabbitmq' }), options);
}

class RabbitMqTransport implements Transport {
  readonly name = 'rabbitmq' as const;
  readonly #log: Logger;
  readonly #topology: Topology;
  readonly #link: RabbitLink;
  readonly #consumers = new Map<string, RabbitConsumer>();
  /** Consumers of the catalogue this process provisions without running them. */
  readonly #provisioned = new Map<string, ConsumerTopology>();
  readonly #reopening = new Set<RabbitConsumer>();
  readonly #prefetchPerQueue: number;
  readonly #balanceIntervalMs: number;
  readonly #connectTimeoutMs: number;
  readonly #publishTimeoutMs: number;
  #closing: Promise<void> | undefined;
  /** A plain channel on `model` whose errors are heard (link.ts); for consumers and checks. */
  readonly #openChannel: OpenChannel = (model, purpose, expected) =>
    this.#link.openChannel(model, (m) => m.createChannel(), purpose, expected);

  constructor(log: Logger, options: RabbitMqOptions) {
    this.#log = log;
    const partitions = partitionCount(options.partitions);
    this.#topology = {
      namespace: options.namespace ?? '',
      partitions,
      queueType: options.queueType ?? 'classic',
    };
    this.#prefetchPerQueue = Math.max(1, Math.ceil((options.prefetch ?? 64) / partitions));
    this.#balanceIntervalMs = options.balanceIntervalMs ?? 1000;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.#publishTimeoutMs = options.publishTimeoutMs ?? 10_000;
    this.#link = new RabbitLink(
      {
        urls: typeof options.url === 'string' ? [options.url] : options.url,
        connectionName: options.connectionName ?? defaultConnectionName(),
        connectTimeoutMs: this.#connectTimeoutMs,
        reconnectInitialDelayMs: options.reconnectInitialDelayMs ?? 200,
        reconnectMaxDelayMs: options.reconnectMaxDelayMs ?? 5000,
        heartbeatSeconds: options.heartbeatSeconds ?? 15,
      },
      log,
      (model) => this.#setup(model),
    );
  }

  async publish(messages: readonly Envelope[]): Promise<void> {
    this.#assertOpen();
    if (messages.length === 0) return;
    await this.#link.start();
    const channel = await this.#link.confirmChannel(this.#publishTimeoutMs);
    const routed = this.#routedTypes();
    const returned = await publishEnvelopes(
      channel,
      this.#topology,
      messages,
      this.#publishTimeoutMs,
      (type) => routed.has(type),
    );
    if (returned.length === 0) return;
    // Their queues are gone (deleted by hand, lost with a node): declare everything again; the
    // relay keeps the rows and publishes them again.
    const model = this.#link.model;
    if (model) await this.#declare(model, this.#knownTopology());
    throw new UnroutedError(
      returned.map((envelope) => envelope.type),
      'RabbitMQ returned them (no queue bound); the topology was declared again',
    );
  }

  async provision(consumers: readonly ConsumerTopology[]): Promise<void> {
    this.#assertOpen();
    if (consumers.length === 0) return;
    await this.#link.start();
    try {
      await this.#onLiveConnection(async (model) => {
        for (const consumer of consumers) {
          await checkPartitionCount(model, this.#openChannel, this.#topology, consumer.name);
        }
        await this.#declare(model, consumers);
      });
    } catch (error) {
      throw declarationError(error, this.#topology, consumers.map((c) => c.name).join(', '));
    }
    for (const consumer of consumers) this.#provisioned.set(consumer.name, consumer);
  }

  async subscribe(endpoint: ConsumerEndpoint): Promise<void> {
    this.#assertOpen();
    if (this.#consumers.has(endpoint.name))
      throw new Error(`consumer ${endpoint.name} is already subscribed`);
    await this.#link.start();
    const consumer = new RabbitConsumer(endpoint, {
      topology: this.#topology,
      log: this.#log,
      prefetchPerQueue: this.#prefetchPerQueue,
      balanceIntervalMs: this.#balanceIntervalMs,
      copyToDeadLetterQueue: (e, message, error, attempts) =>
        this.#copyToDeadLetterQueue(e, message, error, attempts),
      reopen: (c) => this.#reopen(c),
      openChannel: this.#openChannel,
    });
    this.#consumers.set(endpoint.name, consumer);
    try {
      await this.#attachNew(consumer);
    } catch (error) {
      this.#consumers.delete(endpoint.name);
      await consumer.stop();
      throw declarationError(error, this.#topology, endpoint.name);
    }
  }

  /**
   * Checks the partition count, declares and consumes on the live connection; if that connection
   * dies meanwhile, the next one's setup does.
   */
  async #attachNew(consumer: RabbitConsumer): Promise<void> {
    await this.#onLiveConnection(async (model) => {
      if (consumer.attachedTo(model)) return;
      await checkPartitionCount(model, this.#openChannel, this.#topology, consumer.endpoint.name);
      await this.#declareAndAttach(model, [consumer]);
    });
  }

  /**
   * Runs `step` on the live connection; when that connection dies under it, again on the next
   * one (within the connect timeout). A ConfigError or a queue declared otherwise is final.
   */
  async #onLiveConnection(step: (model: ChannelModel) => Promise<void>): Promise<void> {
    const deadline = Date.now() + this.#connectTimeoutMs;
    for (;;) {
      const model = await this.#link.whenUp(Math.max(1, deadline - Date.now()));
      try {
        await step(model);
        return;
      } catch (error) {
        const final = error instanceof ConfigError || isPreconditionFailed(error);
        if (final || this.#link.model === model || Date.now() >= deadline) throw error;
      }
    }
  }

  /** The types some provisioned or subscribed consumer takes: published `mandatory`. */
  #routedTypes(): Set<string> {
    return new Set(this.#knownTopology().flatMap((consumer) => consumer.types));
  }

  /** Every consumer this process knows: provisioned, and subscribed (with the types routed now). */
  #knownTopology(): ConsumerTopology[] {
    return [...this.#provisioned.values(), ...[...this.#consumers.values()].map((c) => c.endpoint)];
  }

  async route(endpoint: ConsumerEndpoint, types: readonly string[]): Promise<void> {
    this.#assertOpen();
    await this.#link.start();
    const channel = await this.#link.adminChannel(this.#publishTimeoutMs);
    const bound = bindTypes(channel, this.#topology, endpoint.name, types);
    await withTimeout(bound, this.#publishTimeoutMs, `RabbitMQ: routing types to ${endpoint.name} timed out`);
  }

  async redeliver(endpoint: ConsumerEndpoint, raw: string): Promise<void> {
    this.#assertOpen();
    await this.#link.start();
    const channel = await this.#link.confirmChannel(this.#publishTimeoutMs);
    const content = Buffer.from(raw);
    const key = partitionKeyOf(content);
    const queue = partitionQueue(this.#topology, endpoint.name, partitionOf(key, this.#topology.partitions));
    await sendToQueue(channel, queue, content, replayProperties(raw, key), this.#publishTimeoutMs);
  }

  async stats(): Promise<ConsumerStats[]> {
    if (this.#consumers.size === 0) return [];
    const channel = await this.#link.adminChannel(STATS_TIMEOUT_MS);
    const stats: ConsumerStats[] = [];
    for (const consumer of this.#consumers.values()) {
      const counts = partitionQueues(this.#topology, consumer.endpoint.name).map((queue) =>
        channel.checkQueue(queue).then((reply) => reply.messageCount),
      );
      const depth = (
        await withTimeout(Promise.all(counts), STATS_TIMEOUT_MS, 'RabbitMQ queue check timed out')
      ).reduce((sum, n) => sum + n, 0);
      stats.push({
        consumer: consumer.endpoint.name,
        depth,
        lag: depth + consumer.unsettled,
        partitions: consumer.partitions,
      });
    }
    return stats;
  }

  connected(): boolean {
    return !this.#closing && this.#link.model !== undefined;
  }

  async health(): Promise<TransportHealth> {
    if (!this.#closing) this.#link.start().catch(() => {}); // a transport nobody used yet connects now
    const status = this.#link.status();
    if (!status.ok) return status;
    const detached = [...this.#consumers.values()].filter((c) => !c.attachedTo(this.#link.model));
    if (detached.length > 0) {
      return { ok: false, detail: `not consuming: ${detached.map((c) => c.endpoint.name).join(', ')}` };
    }
    return { ok: true };
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await Promise.all([...this.#consumers.values()].map((consumer) => consumer.stop()));
    await this.#link.close();
  }

  #assertOpen(): void {
    if (this.#closing) throw new Error('RabbitMQ transport is closed');
  }

  /**
   * Every new connection: declare the exchange, the provisioned consumers' queues and every
   * endpoint's, then consume again.
   */
  async #setup(model: ChannelModel): Promise<void> {
    await this.#declareAndAttach(model, [...this.#consumers.values()], [...this.#provisioned.values()]);
  }

  async #declareAndAttach(
    model: ChannelModel,
    consumers: readonly RabbitConsumer[],
    provisioned: readonly ConsumerTopology[] = [],
  ): Promise<void> {
    await this.#declare(model, provisioned, consumers);
    for (const consumer of consumers) await consumer.attach(model);
  }

  /** Declares the exchange, the durable queues of `provisioned`, and the endpoints of `consumers`. */
  async #declare(
    model: ChannelModel,
    provisioned: readonly ConsumerTopology[],
    consumers: readonly RabbitConsumer[] = [],
  ): Promise<void> {
    const channel: Channel = await this.#link.openChannel(model, (m) => m.createChannel(), 'declarations');
    try {
      await declareExchange(channel, this.#topology);
      for (const consumer of provisioned) await declareConsumerQueues(channel, this.#topology, consumer);
      for (const consumer of consumers) await declareEndpoint(channel, this.#topology, consumer.endpoint);
    } finally {
      await channel.close().catch(() => {});
    }
  }

  /** A consumer's channel closed while its connection lives on: reopen it, with backoff. */
  #reopen(consumer: RabbitConsumer): void {
    if (this.#reopening.has(consumer)) return;
    this.#reopening.add(consumer);
    const attempt = async (delayMs: number): Promise<void> => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const model = this.#link.model;
      // closing, connection down (its setup re-attaches), or already re-attached
      if (this.#closing || !model || consumer.attachedTo(model)) return;
      if (this.#consumers.get(consumer.endpoint.name) !== consumer) return;
      try {
        await this.#declareAndAttach(model, [consumer]);
        this.#log.info({ consumer: consumer.endpoint.name }, 'RabbitMQ consumer channel reopened');
      } catch (error) {
        const next = Math.min(delayMs * 2, 10_000);
        this.#log.warn(
          { err: error, consumer: consumer.endpoint.name },
          `reopening the consumer failed; again in ${next} ms`,
        );
        return attempt(next);
      }
    };
    void attempt(500).finally(() => this.#reopening.delete(consumer));
  }

  async #copyToDeadLetterQueue(
    endpoint: ConsumerEndpoint,
    message: ConsumeMessage,
    error: string,
    attempts: number,
  ) {
    const channel = await this.#link.confirmChannel(this.#publishTimeoutMs);
    const queue = deadLetterQueue(this.#topology, endpoint.module);
    const properties = deadLetterProperties(endpoint.name, message, error, attempts);
    await sendToQueue(channel, queue, message.content, properties, this.#publishTimeoutMs);
  }
}
