/**
 * One consumer endpoint on RabbitMQ: a channel consuming its partition queues (manual acks,
 * bounded prefetch), feeding key lanes (per-key order, the endpoint's concurrency, retries in
 * process with the key held but no concurrency slot taken). A delivery is acked once it settles
 * (handled, duplicate, or dead-lettered: the consumer has recorded the dead letter in its
 * database; a copy goes to `dlq.<module>.retry` first).
 *
 * Deliveries belong to the channel they came on. When that channel is gone (connection lost,
 * channel error) or the transport stops, its deliveries that are not in an attempt are taken
 * back from the lanes, and one in an attempt is dropped when the attempt ends: never acked on
 * another channel. The broker redelivers them (to this process after a reconnect, or to another
 * instance: single active consumer) and the inbox absorbs any repeat.
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../../observability/logger.js';
import type { ConsumerEndpoint } from '../transport.js';
import { type Delivery, KeyLanes, type Settled } from './key-lanes.js';
import { withTimeout } from './rabbitmq-link.js';
import { partitionQueues, type Topology } from './rabbitmq-topology.js';

export const PARTITION_KEY_HEADER = 'x-partition-key';

interface ConsumerChannel {
  readonly channel: Channel;
  open: boolean;
}

export interface ConsumerDeps {
  readonly topology: Topology;
  readonly log: Logger;
  /** Unacked deliveries per partition queue (RabbitMQ per-consumer prefetch). */
  readonly prefetchPerQueue: number;
  /** Copies a dead-lettered delivery to the module's broker DLQ (confirmed). */
  readonly copyToDeadLetterQueue: (
    endpoint: ConsumerEndpoint,
    message: ConsumeMessage,
    error: string,
    attempts: number,
  ) => Promise<void>;
  /** Asks the transport to reopen this consumer's channel (declare + attach) after a channel-only loss. */
  readonly reopen: (consumer: RabbitConsumer) => void;
  readonly openChannel: (model: ChannelModel) => Promise<Channel>;
}

/** The partition key of a message: our header, else the envelope's field, else its id. */
export function partitionKeyOf(
  content: Buffer,
  headers: Record<string, unknown> = {},
  messageId?: unknown,
): string {
  const header = headers[PARTITION_KEY_HEADER];
  if (typeof header === 'string') return header;
  try {
    const parsed = JSON.parse(content.toString('utf8')) as { partitionkey?: unknown; id?: unknown } | null;
    if (typeof parsed?.partitionkey === 'string') return parsed.partitionkey;
    if (typeof parsed?.id === 'string') return parsed.id;
  } catch {
    // not JSON: the consumer dead-letters it; any key will do
  }
  return typeof messageId === 'string' ? messageId : '(no key)';
}

export class RabbitConsumer {
  readonly endpoint: ConsumerEndpoint;
  readonly #deps: ConsumerDeps;
  readonly #log: Logger;
  readonly #lanes: KeyLanes;
  /** Deliveries in the lanes (waiting, in an attempt, or between retries). */
  readonly #inLanes = new Set<Delivery>();
  readonly #settling = new Set<Promise<void>>();
  #emptied: (() => void) | undefined;
  #current: ConsumerChannel | undefined;
  #attachedModel: ChannelModel | undefined;
  #stopping = false;

  constructor(endpoint: ConsumerEndpoint, deps: ConsumerDeps) {
    this.endpoint = endpoint;
    this.#deps = deps;
    this.#log = deps.log.child({ consumer: endpoint.name });
    this.#lanes = new KeyLanes(endpoint, this.#log);
  }

  /** Deliveries received and not settled yet (in flight, waiting for their key, or retrying). */
  get unsettled(): number {
    return this.#inLanes.size;
  }

  /** Consuming on a channel of this connection. */
  attachedTo(model: ChannelModel | undefined): boolean {
    return model !== undefined && this.#attachedModel === model && this.#current?.open === true;
  }

  /** Opens a channel on `model` and consumes every partition queue (the queues must exist). */
  async attach(model: ChannelModel): Promise<void> {
    if (this.#stopping) return;
    const previous = this.#current;
    this.#current = undefined;
    if (previous?.open) await previous.channel.close().catch(() => {});
    const channel = await this.#deps.openChannel(model);
    const entry: ConsumerChannel = { channel, open: true };
    channel.on('close', () => this.#onClose(entry));
    this.#current = entry;
    this.#attachedModel = model;
    await channel.prefetch(this.#deps.prefetchPerQueue);
    for (const queue of partitionQueues(this.#deps.topology, this.endpoint.name)) {
      await channel.consume(queue, (message) => this.#onMessage(entry, message));
    }
  }

  /**
   * Stops taking deliveries, waits for the attempts in flight and their acks, then closes the
   * channel. It does not cancel first: with several instances, a cancel would hand the partitions
   * over at once, and the next instance could handle a key's later message while this one still
   * holds an earlier one. Closing the channel returns every delivery not acked to its place in the
   * queue and hands over the partitions in one step, so per-key order holds across the handover.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    const entry = this.#current;
    if (entry) this.#release(entry);
    if (this.#inLanes.size > 0) {
      await new Promise<void>((resolve) => {
        this.#emptied = resolve;
      });
    }
    while (this.#settling.size > 0) await Promise.allSettled([...this.#settling]);
    if (entry?.open) await withTimeout(entry.channel.close(), 5000, 'close timed out').catch(() => {});
  }

  #onClose(entry: ConsumerChannel): void {
    entry.open = false;
    this.#release(entry);
    if (this.#current !== entry) return;
    this.#current = undefined;
    if (!this.#stopping) this.#deps.reopen(this);
  }

  /** Takes back the channel's deliveries that are not in an attempt (the broker has, or will have, them again). */
  #release(entry: ConsumerChannel): void {
    for (const { delivery } of this.#lanes.withdraw(entry)) this.#forget(delivery);
  }

  #forget(delivery: Delivery): void {
    this.#inLanes.delete(delivery);
    if (this.#inLanes.size === 0) this.#emptied?.();
  }

  #onMessage(entry: ConsumerChannel, message: ConsumeMessage | null): void {
    if (message === null) {
      // cancelled by the broker (queue deleted): reopen, which declares the queues again
      this.#log.warn('RabbitMQ cancelled the consumer; reopening its channel');
      entry.channel.close().catch(() => {});
      return;
    }
    if (this.#stopping) return; // not acked: returned to the queue when the channel closes
    const { type, headers, messageId } = message.properties;
    if (typeof type === 'string' && !this.endpoint.types.includes(type)) {
      // routed by a binding of an older version of this consumer: not ours to handle
      this.#log.warn({ type }, 'ignoring a message of a type this consumer does not handle (stale binding?)');
      this.#ack(entry, message);
      return;
    }
    const delivery: Delivery = {
      id: String(message.fields.deliveryTag),
      key: partitionKeyOf(message.content, headers, messageId),
      raw: message.content.toString('utf8'),
      // Attempts restart at 1 after the broker redelivers: a message is requeued on a crash, a
      // restart or a close, which says nothing about the message itself.
      firstAttempt: 1,
      owner: entry,
      onSettled: (settled) => {
        this.#forget(delivery);
        this.#settle(entry, message, settled);
      },
      onParked: (parked) => {
        if (parked && (this.#stopping || !entry.open)) this.#release(entry);
      },
    };
    this.#inLanes.add(delivery);
    this.#lanes.dispatch(delivery);
  }

  #settle(entry: ConsumerChannel, message: ConsumeMessage, { outcome, attempts }: Settled): void {
    if (outcome.kind !== 'dead-lettered') {
      this.#ack(entry, message);
      return;
    }
    if (!entry.open) return; // the broker redelivers it: no copy, no ack
    const copy = this.#deps
      .copyToDeadLetterQueue(this.endpoint, message, outcome.error, attempts)
      .catch((error: unknown) =>
        this.#log.warn(
          { err: error },
          'copying a dead letter to the broker DLQ failed (kept in the database)',
        ),
      )
      .then(() => this.#ack(entry, message));
    this.#settling.add(copy);
    void copy.finally(() => this.#settling.delete(copy));
  }

  #ack(entry: ConsumerChannel, message: ConsumeMessage): void {
    if (!entry.open) return; // stale: the broker has requeued it
    try {
      entry.channel.ack(message);
    } catch (error) {
      this.#log.warn({ err: error }, 'ack failed; the broker will redeliver');
    }
  }
}
