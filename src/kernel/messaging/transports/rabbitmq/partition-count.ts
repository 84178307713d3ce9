/**
 * The partition count a consumer was created with on RabbitMQ, read from its partition queues:
 * RabbitMQ keeps no free-form setting we could compare (a queue or an exchange accepts any
 * unknown `x-` argument on a redeclaration, whatever its value), but the queues
 * `<consumer>.p0…p<N-1>` are there. `p0` is declared last (topology.ts: declareEndpoint), so when
 * it exists all of them do, and N is the first index with no queue. This also covers the
 * consumers of deployments made before BUS_PARTITIONS, which record nothing else.
 */
import type { Channel, ChannelModel } from 'amqplib';
import { partitionCountMismatch } from '../partition.js';
import { partitionQueue, type Topology } from './topology.js';

export type OpenChannel = (
  model: ChannelModel,
  purpose: string,
  expected?: (error: unknown) => boolean,
) => Promise<Channel>;

const isNotFound = (error: unknown): boolean => (error as { code?: unknown } | undefined)?.code === 404;

/** Beyond this index nobody made partition queues (BUS_PARTITIONS stops at 256): stop looking. */
const SEARCH_LIMIT = 4096;

/**
 * Throws the ConfigError naming BUS_PARTITIONS when the consumer's queues exist with another
 * count than `t.partitions`; resolves when they exist with it or do not exist yet. Two to three
 * passive declarations when the counts agree, a dozen or so when they do not.
 */
export async function checkPartitionCount(
  model: ChannelModel,
  openChannel: OpenChannel,
  t: Topology,
  consumer: string,
): Promise<void> {
  const probe = new QueueProbe(model, openChannel, consumer);
  try {
    const exists = (index: number) => probe.exists(partitionQueue(t, consumer, index));
    if (!(await exists(0))) return; // a new consumer: declared with t.partitions next
    if ((await exists(t.partitions - 1)) && !(await exists(t.partitions))) return;
    throw partitionCountMismatch(consumer, await firstMissing(exists), t.partitions);
  } finally {
    await probe.close();
  }
}

/** The first index with no queue, knowing index 0 has one: doubling, then halving the gap. */
async function firstMissing(exists: (index: number) => Promise<boolean>): Promise<number> {
  let present = 0;
  let absent = 1;
  while (await exists(absent)) {
    present = absent;
    absent *= 2;
    if (absent > SEARCH_LIMIT) return absent;
  }
  while (absent - present > 1) {
    const middle = Math.floor((present + absent) / 2);
    if (await exists(middle)) present = middle;
    else absent = middle;
  }
  return absent;
}

/** Passive declarations; a missing queue closes the channel (404), so the next one opens another. */
class QueueProbe {
  readonly #model: ChannelModel;
  readonly #openChannel: OpenChannel;
  readonly #purpose: string;
  #channel: Channel | undefined;

  constructor(model: ChannelModel, openChannel: OpenChannel, consumer: string) {
    this.#model = model;
    this.#openChannel = openChannel;
    this.#purpose = `partition count of ${consumer}`;
  }

  async exists(queue: string): Promise<boolean> {
    this.#channel ??= await this.#openChannel(this.#model, this.#purpose, isNotFound);
    try {
      await this.#channel.checkQueue(queue);
      return true;
    } catch (error) {
      this.#channel = undefined;
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.#channel?.close().catch(() => {});
  }
}
