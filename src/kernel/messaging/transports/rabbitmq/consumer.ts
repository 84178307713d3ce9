/**
 * One consumer endpoint on RabbitMQ: the partitions this instance holds (partition.ts),
 * feeding one set of key lanes (per-key order, the endpoint's concurrency, retries in process with
 * the key held but no concurrency slot taken).
 *
 * Instances share the partitions. Each instance of the endpoint consumes its members queue
 * `<consumer>.members` (no message ever goes there: its consumer count is the number of live
 * instances). Every balancing round (1 s) an instance decides its share (share.ts: at least
 * floor(partitions / instances), at most the ceiling), hands over the partitions above it, highest
 * first, and claims free ones (no consumer) up to it. So one instance works every partition, ten
 * split sixteen 2 or 1 each, and when one dies (its connection closes: its locks go and its
 * unacked deliveries return to the queues) the others take its partitions at their next rounds.
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../../../observability/logger.js';
import { withTimeout } from '../../../time.js';
import type { ConsumerEndpoint } from '../../transport.js';
import { KeyLanes } from '../key-lanes.js';
import { claimPartition, type PartitionDeps, type RabbitPartition } from './partition.js';
import { planShare, ShareMarks } from './share.js';
import { partitionQueue, type Topology } from './topology.js';

export interface ConsumerDeps {
  readonly topology: Topology;
  readonly log: Logger;
  /** Unacked deliveries per partition queue (RabbitMQ per-consumer prefetch). */
  readonly prefetchPerQueue: number;
  /** Milliseconds between balancing rounds. */
  readonly balanceIntervalMs: number;
  /** Copies a dead-lettered delivery to the module's broker DLQ (confirmed). */
  readonly copyToDeadLetterQueue: (
    endpoint: ConsumerEndpoint,
    message: ConsumeMessage,
    error: string,
    attempts: number,
  ) => Promise<void>;
  /** Asks the transport to declare this endpoint's queues again and re-attach it, with backoff. */
  readonly reopen: (consumer: RabbitConsumer) => void;
  readonly openChannel: PartitionDeps['openChannel'];
}

interface Membership {
  readonly model: ChannelModel;
  readonly channel: Channel;
  readonly marks: ShareMarks;
  open: boolean;
}

export class RabbitConsumer {
  readonly endpoint: ConsumerEndpoint;
  readonly #deps: ConsumerDeps;
  readonly #log: Logger;
  readonly #partitionDeps: PartitionDeps;
  readonly #held = new Map<number, RabbitPartition>();
  /** Where this instance starts looking for free partitions, so instances do not all reach for p0. */
  readonly #scanStart: number;
  #membership: Membership | undefined;
  /** A partition was lost while the connection lived: its queue may be gone, declare again. */
  #redeclare = false;
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  #stopping = false;

  constructor(endpoint: ConsumerEndpoint, deps: ConsumerDeps) {
    this.endpoint = endpoint;
    this.#deps = deps;
    this.#log = deps.log.child({ consumer: endpoint.name });
    this.#scanStart = Math.floor(Math.random() * deps.topology.partitions);
    this.#partitionDeps = {
      endpoint,
      lanes: new KeyLanes(endpoint, this.#log),
      topology: deps.topology,
      log: this.#log,
      prefetch: deps.prefetchPerQueue,
      openChannel: deps.openChannel,
      copyToDeadLetterQueue: (message, error, attempts) =>
        deps.copyToDeadLetterQueue(endpoint, message, error, attempts),
      onLost: (partition) => this.#onLost(partition),
    };
  }

  /** Deliveries received and not settled yet (in flight, waiting for their key, or retrying). */
  get unsettled(): number {
    let count = 0;
    for (const partition of this.#held.values()) count += partition.unsettled;
    return count;
  }

  /** The partitions this instance works now. */
  get partitions(): number[] {
    return [...this.#held.values()]
      .filter((p) => !p.leaving)
      .map((p) => p.index)
      .sort((a, b) => a - b);
  }

  /** A member on this connection (it may hold no partition: more instances than partitions). */
  attachedTo(model: ChannelModel | undefined): boolean {
    const membership = this.#membership;
    return model !== undefined && membership?.model === model && membership.open && !this.#redeclare;
  }

  /** Joins as a member on `model` (the queues must exist), then claims a fair share at once. */
  async attach(model: ChannelModel): Promise<void> {
    if (this.#stopping) return;
    const previous = this.#membership;
    this.#membership = undefined;
    if (previous?.open) await previous.channel.close().catch(() => {});
    const channel = await this.#deps.openChannel(model, `consumer ${this.endpoint.name} members`);
    const marks = new ShareMarks(channel, this.#deps.topology, this.endpoint.name);
    const membership: Membership = { model, channel, marks, open: true };
    channel.on('close', () => this.#onMembershipClosed(membership));
    await marks.join();
    this.#membership = membership;
    this.#redeclare = false;
    await this.#balance();
    this.#timer ??= setInterval(() => {
      this.#balance().catch((error: unknown) =>
        this.#log.debug({ err: error }, 'balancing round failed; the next one tries again'),
      );
    }, this.#deps.balanceIntervalMs);
    this.#timer.unref();
  }

  /**
   * Hands every partition over (each one after its attempts in flight have finished and been
   * acked), then leaves the members. Whatever was delivered and not acked returns to the queue.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#timer);
    await this.#round?.catch(() => {});
    await Promise.all([...this.#held.values()].map((partition) => partition.leave()));
    const membership = this.#membership;
    if (membership?.open)
      await withTimeout(membership.channel.close(), 5000, 'close timed out').catch(() => {});
  }

  /** One balancing round at a time; the first runs inside attach, so subscribing starts consuming. */
  #balance(): Promise<void> {
    this.#round ??= this.#rebalance().finally(() => {
      this.#round = undefined;
    });
    return this.#round;
  }

  async #rebalance(): Promise<void> {
    const membership = this.#membership;
    if (this.#stopping || !membership?.open) return;
    const working = [...this.#held.values()].filter((p) => !p.leaving).sort((a, b) => b.index - a.index);
    const view = await membership.marks.read();
    const plan = planShare({ ...view, partitions: this.#deps.topology.partitions, holding: working.length });
    for (const partition of working.slice(0, Math.max(0, working.length - plan.keep))) {
      this.#log.info(
        { partition: partition.index, members: view.members },
        'handing a partition over (share)',
      );
      this.#handOver(partition);
    }
    const holding = await this.#claim(membership, Math.min(working.length, plan.keep), plan.claimUpTo);
    if (!this.#stopping) await membership.marks.mark(holding < plan.floor, holding > plan.floor);
  }

  /** Claims free partitions (no consumer) until `upTo` are held; returns how many are. */
  async #claim({ model, channel }: Membership, holding: number, upTo: number): Promise<number> {
    const { topology } = this.#deps;
    for (let step = 0; step < topology.partitions && holding < upTo; step++) {
      const index = (this.#scanStart + step) % topology.partitions;
      if (this.#stopping || this.#held.has(index)) continue;
      const queue = partitionQueue(topology, this.endpoint.name, index);
      if ((await channel.checkQueue(queue)).consumerCount > 0) continue;
      const partition = await claimPartition(model, index, this.#partitionDeps);
      if (!partition) continue;
      if (this.#stopping) {
        await partition.leave();
        return holding;
      }
      this.#held.set(index, partition);
      holding++;
    }
    return holding;
  }

  #handOver(partition: RabbitPartition): void {
    void partition.leave().finally(() => {
      if (this.#held.get(partition.index) === partition) this.#held.delete(partition.index);
    });
  }

  #onLost(partition: RabbitPartition): void {
    if (this.#held.get(partition.index) === partition) this.#held.delete(partition.index);
    const membership = this.#membership;
    // a lost connection takes every partition and the membership: its setup re-attaches
    if (this.#stopping || !membership?.open || partition.model !== membership.model) return;
    this.#log.warn({ partition: partition.index }, 'lost a partition channel; declaring the queues again');
    this.#redeclare = true;
    this.#deps.reopen(this);
  }

  #onMembershipClosed(membership: Membership): void {
    membership.open = false;
    if (this.#membership !== membership || this.#stopping) return;
    this.#deps.reopen(this);
  }
}
