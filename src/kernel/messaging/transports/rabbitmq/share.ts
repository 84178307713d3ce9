/**
 * How many partitions of an endpoint this instance should hold, on RabbitMQ (consumer.ts runs a
 * round every second). The target split of P partitions over M live instances: every instance at
 * least floor(P/M), none above ceil(P/M).
 *
 * Taking up to the ceiling alone, as instances come one by one, starves the last ones (16 over
 * 10: eight instances at 2 leave two with none). RabbitMQ cannot say who holds what, so each
 * instance says it of itself by consuming marker queues, which never get a message: their
 * consumer counts tell everyone how many instances are below the floor and how many above it.
 * - An instance below the floor takes free partitions up to the floor; beyond the floor one is
 *   taken only while nobody is below it, and only while the extra partitions are not all held.
 * - While others are below the floor, each instance above it gives one back per round with
 *   probability (below / above): the instances above all hear it at once and cannot agree on who
 *   gives, so about as many are given as are lacking, rather than one by each.
 */
import type { Channel } from 'amqplib';
import {
  aboveFloorQueue,
  belowFloorQueue,
  markerQueueOptions,
  memberQueue,
  type Topology,
} from './topology.js';

export interface ShareView {
  readonly partitions: number;
  /** Live instances of the endpoint, this one included. */
  readonly members: number;
  /** Partitions this instance works (not counting those being handed over). */
  readonly holding: number;
  /** Other instances holding fewer than floor(partitions / members). */
  readonly belowOthers: number;
  /** Other instances holding more than floor(partitions / members). */
  readonly aboveOthers: number;
}

export interface SharePlan {
  readonly floor: number;
  /** Partitions to keep working; the others are handed over. */
  readonly keep: number;
  /** Take free partitions until this many are held (nothing to look for when keep reaches it). */
  readonly claimUpTo: number;
}

/** This round's decision for one instance (`random` in [0, 1), for the giving above). */
export function planShare(view: ShareView, random: () => number = Math.random): SharePlan {
  const { partitions, holding, belowOthers, aboveOthers } = view;
  const members = Math.max(1, view.members);
  const floor = Math.floor(partitions / members);
  const ceil = Math.ceil(partitions / members);
  let keep = Math.min(holding, ceil);
  if (belowOthers > 0 && keep > floor && random() < belowOthers / (aboveOthers + 1)) keep--;
  // everyone at the floor or above, and fewer extras held than there are: some partition is free
  const extrasLeft = belowOthers === 0 && aboveOthers < partitions - members * floor;
  return { floor, keep, claimUpTo: extrasLeft ? ceil : floor };
}

/**
 * This instance's membership of an endpoint, on one channel: it consumes the members queue while
 * attached, and the below-floor or above-floor queue while its holding is so. Closing the channel
 * ends all three (a dead connection too).
 */
export class ShareMarks {
  readonly #channel: Channel;
  readonly #topology: Topology;
  readonly #consumer: string;
  #below: string | undefined;
  #above: string | undefined;

  constructor(channel: Channel, topology: Topology, consumer: string) {
    this.#channel = channel;
    this.#topology = topology;
    this.#consumer = consumer;
  }

  /** Joins the live instances of the endpoint. */
  async join(): Promise<void> {
    await this.#channel.consume(memberQueue(this.#topology, this.#consumer), () => {}, { noAck: true });
  }

  /** How many instances are live, and how many others are below and above the floor. */
  async read(): Promise<Pick<ShareView, 'members' | 'belowOthers' | 'aboveOthers'>> {
    const members = await this.#channel.checkQueue(memberQueue(this.#topology, this.#consumer));
    const below = await this.#count(belowFloorQueue(this.#topology, this.#consumer));
    const above = await this.#count(aboveFloorQueue(this.#topology, this.#consumer));
    return {
      members: members.consumerCount,
      belowOthers: below - (this.#below === undefined ? 0 : 1),
      aboveOthers: above - (this.#above === undefined ? 0 : 1),
    };
  }

  /** Says where this instance stands now. */
  async mark(below: boolean, above: boolean): Promise<void> {
    this.#below = await this.#toggle(belowFloorQueue(this.#topology, this.#consumer), this.#below, below);
    this.#above = await this.#toggle(aboveFloorQueue(this.#topology, this.#consumer), this.#above, above);
  }

  /** Declared (not only checked) each time: it renews the queue's expiry and brings back a deleted one. */
  async #count(queue: string): Promise<number> {
    return (await this.#channel.assertQueue(queue, markerQueueOptions)).consumerCount;
  }

  async #toggle(queue: string, tag: string | undefined, on: boolean): Promise<string | undefined> {
    if (on && tag === undefined) {
      return (await this.#channel.consume(queue, () => {}, { noAck: true })).consumerTag;
    }
    if (!on && tag !== undefined) await this.#channel.cancel(tag);
    return on ? tag : undefined;
  }
}
