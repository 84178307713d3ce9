import type { ChainableCommander, Redis } from 'ioredis';
import type { Envelope } from '../../envelope.js';
import type { ConsumerTopology } from '../../transport.js';
import { partitionCountMismatch, partitionOf } from '../partition.js';
import {
  consumersKey,
  consumerTypesKey,
  jobIdFor,
  partitionQueueName,
  routesKey,
  routesVersionKey,
} from './keys.js';
import { repliesOrThrow } from './redis.js';

export interface JobSpec {
  readonly name: string;
  readonly data: string;
  readonly opts: { readonly jobId: string } & typeof JOB_OPTIONS;
}

/** Jobs to add, by partition queue name. */
export type JobsByQueue = Map<string, JobSpec[]>;

export interface PublishPlan {
  readonly jobs: JobsByQueue;
  /** Messages of a type this process routed or provisioned that the table routes nowhere now. */
  readonly unrouted: readonly Envelope[];
}

/** BullMQ's own retries stay off (the consumer's policy retries in process); finished jobs go. */
export const JOB_OPTIONS = { removeOnComplete: true, removeOnFail: 1000, attempts: 1 } as const;

/**
 * The durable routing table in Redis: which consumers take a type, and each consumer's partition
 * count. Written by every process for every consumer of the catalogue before it publishes
 * (provision), and at subscribe, so a process publishes to consumers that run elsewhere, are
 * down, or have never run. Every publish reads the table's version (one GET)
 * and reads the routes again only when it changed: a subscribe writes the routes and bumps the
 * version in one MULTI, so a publish that starts after a subscribe has finished, in any process,
 * routes to that consumer (the same guarantee as reading the routes every time).
 */
export class RoutingTable {
  readonly #prefix: string;
  readonly #defaultPartitions: number;
  /** A consumer's partition count never changes once written: cached for good. */
  readonly #partitions = new Map<string, number>();
  /** Types this process routed or provisioned: one the table routes nowhere means it was lost. */
  readonly #expected = new Set<string>();
  /** Routes read at `#version` of the table, by type. */
  readonly #routesByType = new Map<string, string[]>();
  #version: string | null | undefined;

  constructor(prefix: string, defaultPartitions: number) {
    this.#prefix = prefix;
    this.#defaultPartitions = defaultPartitions;
  }

  /**
   * Writes the consumer's routes and returns its partition count. Drops only the types it no
   * longer handles (an older version of it took them): a type routed at run time, maybe by
   * another instance, stays (see `Transport.route`).
   * Throws a ConfigError, writing nothing more, when the consumer was created with another
   * partition count: its instances would disagree on which partition holds a key.
   */
  async register(redis: Redis, endpoint: ConsumerTopology): Promise<number> {
    const { name, types, handles } = endpoint;
    const prefix = this.#prefix;
    const partitions = await this.#fixPartitions(redis, name);
    const previous = await redis.smembers(consumerTypesKey(prefix, name));
    const dropped = previous.filter((type) => !handles.includes(type));
    const tx = redis.multi();
    for (const type of dropped) tx.srem(routesKey(prefix, type), name);
    if (dropped.length > 0) tx.srem(consumerTypesKey(prefix, name), ...dropped);
    this.#addRoutes(tx, name, types);
    repliesOrThrow(await tx.exec()); // an error reply fails the subscribe, which writes it all again
    return partitions;
  }

  /**
   * Writes the routes of a consumer this process may not run (only adds: the consumer's own
   * subscribe drops what it no longer handles) and fixes its partition count if it is new.
   * Throws the same ConfigError as `register` on another count.
   */
  async provision(redis: Redis, consumer: ConsumerTopology): Promise<void> {
    await this.#fixPartitions(redis, consumer.name);
    await this.route(redis, consumer.name, consumer.types);
  }

  /** The first subscribe or provision of a consumer, in any process, fixes its count (HSETNX). */
  async #fixPartitions(redis: Redis, name: string): Promise<number> {
    await redis.hsetnx(consumersKey(this.#prefix), name, String(this.#defaultPartitions));
    const partitions = Number(await redis.hget(consumersKey(this.#prefix), name));
    if (partitions !== this.#defaultPartitions) {
      throw partitionCountMismatch(name, partitions, this.#defaultPartitions);
    }
    this.#partitions.set(name, partitions);
    return partitions;
  }

  /** Routes more types to a registered consumer: publishes that start after this resolves take them. */
  async route(redis: Redis, consumer: string, types: readonly string[]): Promise<void> {
    const tx = redis.multi();
    this.#addRoutes(tx, consumer, types);
    repliesOrThrow(await tx.exec());
  }

  /** Queues the route writes and the version bump that makes every publisher read the routes again. */
  #addRoutes(tx: ChainableCommander, consumer: string, types: readonly string[]): void {
    for (const type of types) {
      tx.sadd(routesKey(this.#prefix, type), consumer);
      this.#expected.add(type);
    }
    if (types.length > 0) tx.sadd(consumerTypesKey(this.#prefix, consumer), ...types);
    tx.incr(routesVersionKey(this.#prefix));
  }

  /** The jobs a batch makes: one per (message, consumer of its type), in its key's partition. */
  async plan(redis: Redis, messages: readonly Envelope[]): Promise<PublishPlan> {
    const routes = await this.#routes(redis, [...new Set(messages.map((m) => m.type))]);
    await this.#loadPartitions(redis, [...new Set([...routes.values()].flat())]);
    const jobs: JobsByQueue = new Map();
    const unrouted: Envelope[] = [];
    for (const envelope of messages) {
      const consumers = routes.get(envelope.type) ?? [];
      if (consumers.length === 0) {
        if (this.#expected.has(envelope.type)) unrouted.push(envelope);
        continue;
      }
      const data = JSON.stringify(envelope);
      const jobId = jobIdFor(envelope.id);
      for (const consumer of consumers) {
        const queue = this.queueFor(consumer, envelope.partitionkey);
        const batch = jobs.get(queue) ?? [];
        batch.push({ name: envelope.type, data, opts: { ...JOB_OPTIONS, jobId } });
        jobs.set(queue, batch);
      }
    }
    return { jobs, unrouted };
  }

  /** The partition queue of a key (the consumer's partition count must be known: registered or planned). */
  queueFor(consumer: string, partitionKey: string): string {
    const partitions = this.#partitions.get(consumer) ?? this.#defaultPartitions;
    return partitionQueueName(consumer, partitionOf(partitionKey, partitions));
  }

  async #routes(redis: Redis, types: readonly string[]): Promise<Map<string, string[]>> {
    const version = await redis.get(routesVersionKey(this.#prefix));
    if (version !== this.#version) {
      this.#routesByType.clear();
      this.#version = version;
    }
    const routes = new Map<string, string[]>();
    const unknown: string[] = [];
    for (const type of types) {
      const known = this.#routesByType.get(type);
      if (known) routes.set(type, known);
      else unknown.push(type);
    }
    if (unknown.length === 0) return routes;
    const commands = unknown.map((type) => ['smembers', routesKey(this.#prefix, type)]);
    const replies = repliesOrThrow(await redis.pipeline(commands).exec(), commands.length);
    unknown.forEach((type, i) => {
      const members = replies[i] as string[];
      routes.set(type, members);
      // kept only while the table is still at the version read (else read again next time)
      if (this.#version === version) this.#routesByType.set(type, members);
    });
    return routes;
  }

  async #loadPartitions(redis: Redis, consumers: readonly string[]): Promise<void> {
    const unknown = consumers.filter((name) => !this.#partitions.has(name));
    if (unknown.length === 0) return;
    const counts = await redis.hmget(consumersKey(this.#prefix), ...unknown);
    unknown.forEach((name, i) => {
      const count = Number(counts[i]);
      if (count > 0) this.#partitions.set(name, count);
    });
  }
}
