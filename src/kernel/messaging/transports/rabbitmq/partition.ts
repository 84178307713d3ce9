/**
 * One partition queue of a consumer endpoint, held by this instance: the lock that makes it ours,
 * the channel consuming it, and its deliveries in the endpoint's key lanes.
 *
 * Holding: the connection that owns the exclusive lock queue `<consumer>.p<i>.lock` holds the
 * partition (RabbitMQ refuses a second owner with 405 and deletes the lock when the owner's
 * connection dies, kill -9 included). Only the holder consumes the partition queue, so instances
 * split the partitions instead of the first subscriber taking all of them. The queue keeps its
 * single-active-consumer flag: should a new holder subscribe before the broker has finished the
 * old holder's close, it waits as the standby, so a handover never runs two consumers at once.
 *
 * Handing over (`leave`): stop taking deliveries, let the attempts in flight finish and be acked,
 * drop the lock and close the channel (every delivery not acked returns to its place in the
 * queue). The next holder starts exactly where this one stopped: per-key order holds.
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../../../observability/logger.js';
import { withTimeout } from '../../../time.js';
import type { ConsumerEndpoint } from '../../transport.js';
import type { Delivery, KeyLanes, Settled } from '../key-lanes.js';
import { partitionKeyOf } from './publish.js';
import { lockQueue, partitionQueue, type Topology } from './topology.js';

export interface PartitionDeps {
  readonly endpoint: ConsumerEndpoint;
  readonly lanes: KeyLanes;
  readonly topology: Topology;
  readonly log: Logger;
  /** Unacked deliveries per partition queue (RabbitMQ per-consumer prefetch). */
  readonly prefetch: number;
  /** Opens a channel whose errors are heard; `expected` errors are not logged as warnings. */
  readonly openChannel: (
    model: ChannelModel,
    purpose: string,
    expected?: (error: unknown) => boolean,
  ) => Promise<Channel>;
  /** Copies a dead-lettered delivery to the module's broker DLQ (confirmed). */
  readonly copyToDeadLetterQueue: (message: ConsumeMessage, error: string, attempts: number) => Promise<void>;
  /** The channel died while this instance still held the partition; called once it has let go. */
  readonly onLost: (partition: RabbitPartition) => void;
}

const isResourceLocked = (error: unknown): boolean => (error as { code?: unknown } | undefined)?.code === 405;

/**
 * Takes partition `index` if no other connection holds it, and starts consuming it.
 * Resolves undefined when another instance holds it; rejects on any other failure.
 */
export async function claimPartition(
  model: ChannelModel,
  index: number,
  deps: PartitionDeps,
): Promise<RabbitPartition | undefined> {
  const channel = await deps.openChannel(model, `consumer ${deps.endpoint.name} p${index}`, isResourceLocked);
  try {
    await channel.assertQueue(lockQueue(deps.topology, deps.endpoint.name, index), {
      exclusive: true,
      durable: false,
    });
  } catch (error) {
    if (isResourceLocked(error)) return undefined; // held elsewhere; the broker closed the channel
    await channel.close().catch(() => {});
    throw error;
  }
  const partition = new RabbitPartition(model, channel, index, deps);
  try {
    await partition.consume();
  } catch (error) {
    await partition.leave();
    throw error;
  }
  return partition;
}

export class RabbitPartition {
  readonly index: number;
  readonly model: ChannelModel;
  readonly #channel: Channel;
  readonly #deps: PartitionDeps;
  readonly #log: Logger;
  /** Deliveries in the lanes (waiting, in an attempt, or between retries). */
  readonly #inLanes = new Set<Delivery>();
  readonly #settling = new Set<Promise<void>>();
  #emptied: (() => void) | undefined;
  #open = true;
  #leaving: Promise<void> | undefined;

  constructor(model: ChannelModel, channel: Channel, index: number, deps: PartitionDeps) {
    this.model = model;
    this.#channel = channel;
    this.index = index;
    this.#deps = deps;
    this.#log = deps.log.child({ partition: index });
    channel.on('close', () => this.#onClose());
  }

  /** Deliveries received and not settled yet. */
  get unsettled(): number {
    return this.#inLanes.size;
  }

  /** True once the partition is being handed over (or is gone). */
  get leaving(): boolean {
    return this.#leaving !== undefined;
  }

  async consume(): Promise<void> {
    await this.#channel.prefetch(this.#deps.prefetch);
    const queue = partitionQueue(this.#deps.topology, this.#deps.endpoint.name, this.index);
    await this.#channel.consume(queue, (message) => this.#onMessage(message));
  }

  /** Hands the partition over (see the file comment). Idempotent; resolves once it is let go. */
  leave(): Promise<void> {
    this.#leaving ??= this.#leave();
    return this.#leaving;
  }

  async #leave(): Promise<void> {
    this.#release();
    if (this.#inLanes.size > 0) {
      await new Promise<void>((resolve) => {
        this.#emptied = resolve;
      });
    }
    while (this.#settling.size > 0) await Promise.allSettled([...this.#settling]);
    await withTimeout(this.#dropLock(), 5000, 'dropping the lock timed out').catch((error: unknown) =>
      this.#log.debug({ err: error }, 'dropping the partition lock failed (it goes with the connection)'),
    );
    if (this.#open) await withTimeout(this.#channel.close(), 5000, 'close timed out').catch(() => {});
  }

  /** The lock lives as long as the connection: drop it on this channel, or another one if it died. */
  async #dropLock(): Promise<void> {
    const lock = lockQueue(this.#deps.topology, this.#deps.endpoint.name, this.index);
    if (this.#open) {
      await this.#channel.deleteQueue(lock);
      return;
    }
    const channel = await this.#deps.openChannel(this.model, `unlock ${lock}`);
    await channel.deleteQueue(lock);
    await channel.close();
  }

  #onClose(): void {
    this.#open = false;
    this.#release();
    if (this.#leaving) return;
    void this.leave().then(() => this.#deps.onLost(this));
  }

  /** Takes back the deliveries that are not in an attempt (the broker has, or will have, them again). */
  #release(): void {
    for (const { delivery } of this.#deps.lanes.withdraw(this)) this.#forget(delivery);
  }

  #forget(delivery: Delivery): void {
    this.#inLanes.delete(delivery);
    if (this.#inLanes.size === 0) this.#emptied?.();
  }

  #onMessage(message: ConsumeMessage | null): void {
    if (message === null) {
      // cancelled by the broker (queue deleted): let go; the endpoint declares the queues again
      this.#log.warn('RabbitMQ cancelled the consumer of a partition; letting it go');
      this.#channel.close().catch(() => {});
      return;
    }
    if (this.#leaving) return; // not acked: returned to the queue when the channel closes
    const { endpoint } = this.#deps;
    const { type, headers, messageId } = message.properties;
    if (typeof type === 'string' && !endpoint.handles.includes(type)) {
      // routed by a binding of an older version of this consumer: not ours to handle
      this.#log.warn({ type }, 'ignoring a message of a type this consumer does not handle (stale binding?)');
      this.#ack(message);
      return;
    }
    const delivery: Delivery = {
      id: String(message.fields.deliveryTag),
      key: partitionKeyOf(message.content, headers, messageId),
      raw: message.content.toString('utf8'),
      // Attempts restart at 1 after the broker redelivers: a message is requeued on a crash, a
      // restart or a close, which says nothing about the message itself.
      firstAttempt: 1,
      owner: this,
      onSettled: (settled) => {
        this.#forget(delivery);
        this.#settle(message, settled);
      },
      onParked: (parked) => {
        if (parked && (this.#leaving || !this.#open)) this.#release();
      },
    };
    this.#inLanes.add(delivery);
    this.#deps.lanes.dispatch(delivery);
  }

  #settle(message: ConsumeMessage, { outcome, attempts }: Settled): void {
    if (outcome.kind !== 'dead-lettered') {
      this.#ack(message);
      return;
    }
    if (!this.#open) return; // the broker redelivers it: no copy, no ack
    const copy = this.#deps
      .copyToDeadLetterQueue(message, outcome.error, attempts)
      .catch((error: unknown) =>
        this.#log.warn(
          { err: error },
          'copying a dead letter to the broker DLQ failed (kept in the database)',
        ),
      )
      .then(() => this.#ack(message));
    this.#settling.add(copy);
    void copy.finally(() => this.#settling.delete(copy));
  }

  #ack(message: ConsumeMessage): void {
    if (!this.#open) return; // stale: the broker has requeued it
    try {
      this.#channel.ack(message);
    } catch (error) {
      this.#log.warn({ err: error }, 'ack failed; the broker will redeliver');
    }
  }
}
