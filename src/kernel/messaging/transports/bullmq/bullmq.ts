/**
 * The BullMQ (Redis) transport. Design, in short (details in the other files of bullmq/):
 * - Each consumer has P partition queues `<consumer>.p<i>`; a message goes to partition
 *   hash(partitionkey) % P of every consumer whose types include its type. Job id = message id.
 * - A durable routing table in Redis (type → consumers, consumer → P), written by every process
 *   for every consumer of the catalogue before it publishes (provision) and at subscribe, lets any
 *   process publish to consumers that run elsewhere, are down, or have never run. A publish that
 *   finds no route for a type this process provisioned (Redis lost the table) writes it again and
 *   rejects with an UnroutedError: the outbox keeps the rows.
 * - Per-key order across instances: a partition is worked by one instance at a time (a Redis
 *   lease, fair share, taken over when its holder dies); inside it, jobs are fetched in queue
 *   order and run per key in order, up to the endpoint's concurrency (BullMQ groups are paid).
 * - Retries run in process through the consumer's policy, the key held back; a job completes only
 *   at a final outcome. A crash leaves jobs active; the next holder restores them, in order, and
 *   the consumer's inbox absorbs what had been handled.
 * - A paused endpoint (its flow: a dependency of its handler is down) starts nothing, and its
 *   partition runs fetch nothing more until it resumes (partition-run.ts, `#fetchLoop`).
 * - Recovery from a crash (`kill -9`) takes a few seconds: each instance heartbeats in Redis
 *   (liveness.ts); about `livenessTtlMs` after a holder's last heartbeat, the others take its
 *   partitions over and restore its locked jobs without waiting for its 10 s leases and locks.
 * - Dead letters live in the consumer's SQLite store (the source of truth); a copy goes to the
 *   BullMQ queue `dlq.<module>.retry` (nobody works it; kept `deadLetterRetentionMs`).
 */
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Logger } from '../../../observability/logger.js';
import { UnroutedError } from '../../errors.js';
import type { ConsumerStats, ConsumerTopology, Transport } from '../../transport.js';
import { partitionCount } from '../partition.js';
import { CLOSE_PATIENCE_MS, ConsumerGroup } from './group.js';
import { jobIdFor, partitionQueueName, peekRaw } from './keys.js';
import { DEFAULT_LIVENESS_TTL_MS, InstanceLiveness } from './liveness.js';
import { Queues } from './queues.js';
import { checkPersistence, closeConnection, openConnections, refusalOf, waitUntilReady } from './redis.js';
import { JOB_OPTIONS, RoutingTable } from './routing.js';

export interface BullMqTransportOptions {
  /** REDIS_URL. */
  readonly url: string;
  /** Prefix of every key (BUS_NAMESPACE); default `modulith`. */
  readonly prefix?: string;
  /**
   * Partition queues per consumer (BUS_PARTITIONS; default 16), fixed at a consumer's first
   * subscribe: a later subscribe with another count fails with a ConfigError.
   */
  readonly partitions?: number;
  /** Jobs fetched ahead per partition (default max(8, 4 × the endpoint's concurrency)). */
  readonly prefetch?: number;
  /**
   * BullMQ job lock (default 10 s): a holder that stops renewing (stalled, or an older build
   * without heartbeats) has its jobs restored this long after its last renewal.
   */
  readonly lockDurationMs?: number;
  /**
   * Partition lease (default 10 s): a holder that stops renewing (stalled, or an older build
   * without heartbeats) loses its partitions this long after its last renewal.
   */
  readonly leaseTtlMs?: number;
  /**
   * An instance is dead this long after its last heartbeat (every third of it); its partitions and
   * locked jobs are then taken over at once (default 3 s, so a `kill -9` is recovered from in
   * about 3 to 5 s). An event loop stalled longer than this on a live instance costs redeliveries,
   * which the inbox absorbs (liveness.ts).
   */
  readonly livenessTtlMs?: number;
  /** Seconds a fetch blocks on an empty queue (default 5). */
  readonly blockTimeoutSec?: number;
  /** How long the first use waits for Redis before failing with a REDIS_URL error (default 30 s). */
  readonly connectTimeoutMs?: number;
  /** Age after which copies in `dlq.<module>.retry` are removed (default 7 days). */
  readonly deadLetterRetentionMs?: number;
  /** This process's identity in partition leases (default a random id). */
  readonly instanceId?: string;
}

/** The BullMQ transport, which can also show its queues (bull-board under `/admin/queues`). */
export interface BullMqTransport extends Transport {
  /**
   * The partition queues of this process's consumers. Not the `dlq.<module>.retry` copies: the
   * dead letters are the kernel's store's (shown, replayed and deleted on `/admin`), and a copy a
   * replay or a delete leaves behind must not look like a second truth.
   */
  boardQueues(): Queue[];
}

export function createBullMqTransport(log: Logger, options: BullMqTransportOptions): BullMqTransport {
  const prefix = options.prefix ?? 'modulith';
  const instanceId = options.instanceId ?? randomUUID();
  const lockDurationMs = options.lockDurationMs ?? 10_000;
  const { worker: redis, publisher } = openConnections(options.url, `${prefix}:${instanceId}`, log);
  const routing = new RoutingTable(prefix, partitionCount(options.partitions));
  const queues = new Queues({
    prefix,
    log,
    publisher,
    worker: redis,
    retentionMs: options.deadLetterRetentionMs ?? 7 * 86_400_000,
  });
  const liveness = new InstanceLiveness({
    redis,
    prefix,
    instanceId,
    ttlMs: options.livenessTtlMs ?? DEFAULT_LIVENESS_TTL_MS,
    log,
  });
  const groups = new Map<string, ConsumerGroup>();
  /** Consumers of the catalogue provisioned by this process without running them. */
  const provisioned = new Map<string, ConsumerTopology>();
  /** Writes the routes of every consumer this process knows again (Redis lost them). */
  const provisionAgain = async () => {
    for (const consumer of provisioned.values()) await routing.provision(redis, consumer);
    for (const { endpoint } of groups.values()) await routing.route(redis, endpoint.name, endpoint.types);
  };
  let ready: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  let connectedOnce = false;
  redis.on('ready', () => {
    if (connectedOnce) {
      log.warn('redis reconnected: partition workers start new runs');
      for (const group of groups.values()) group.restartRuns('redis reconnected');
      // A Redis restarted without persistence has lost the routing table: write it again.
      provisionAgain().catch((error: unknown) =>
        log.warn(
          { err: error },
          'writing the routing table again failed; the next unrouted publish tries again',
        ),
      );
    }
    connectedOnce = true;
  });

  /** The first use waits for Redis up to connectTimeoutMs; a failed wait is tried again next time. */
  const ensureReady = async () => {
    if (closing) throw new Error('bullmq transport is closed');
    ready ??= (async () => {
      await waitUntilReady([redis, publisher], options.url, options.connectTimeoutMs ?? 30_000);
      await checkPersistence(redis, options.url, log);
    })().catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    await ready;
  };

  return {
    name: 'bullmq',

    async publish(messages) {
      if (messages.length === 0) return;
      await ensureReady();
      const { jobs, unrouted } = await routing.plan(publisher, messages);
      if (unrouted.length > 0) {
        await provisionAgain();
        throw new UnroutedError(
          unrouted.map((envelope) => envelope.type),
          'the routing table in Redis had no consumer for them; it was written again',
        );
      }
      await queues.addAll(jobs);
    },

    async provision(consumers) {
      if (consumers.length === 0) return;
      await ensureReady();
      for (const consumer of consumers) {
        await routing.provision(redis, consumer);
        provisioned.set(consumer.name, consumer);
      }
    },

    async subscribe(endpoint) {
      if (groups.has(endpoint.name)) throw new Error(`consumer ${endpoint.name} is already subscribed`);
      await ensureReady();
      const partitions = await routing.register(redis, endpoint);
      liveness.start();
      const group = new ConsumerGroup({
        endpoint,
        partitions,
        redis,
        liveness,
        leaseTtlMs: options.leaseTtlMs ?? 10_000,
        settings: {
          prefix,
          lockDurationMs,
          prefetch: options.prefetch ?? Math.max(8, 4 * endpoint.concurrency),
          blockTimeoutSec: options.blockTimeoutSec ?? 5,
        },
        log: log.child({ consumer: endpoint.name }),
        onDeadLetter: (raw, error, attempts) => queues.copyDeadLetter(endpoint, raw, error, attempts),
      });
      groups.set(endpoint.name, group);
      await group.start();
    },

    async route(endpoint, types) {
      await ensureReady();
      await routing.route(redis, endpoint.name, types);
    },

    async redeliver(endpoint, raw) {
      await ensureReady();
      const { id, partitionKey } = peekRaw(raw);
      const jobId = jobIdFor(`${id ?? 'raw'}-replay-${Date.now()}-${randomUUID().slice(0, 8)}`);
      const job = { name: 'replay', data: raw, opts: { ...JOB_OPTIONS, jobId } };
      await queues.addAll(new Map([[routing.queueFor(endpoint.name, partitionKey), [job]]]));
    },

    async stats(): Promise<ConsumerStats[]> {
      return Promise.all(
        [...groups.values()].map(async ({ endpoint, partitions, held }) => {
          const names = Array.from({ length: partitions }, (_, i) => partitionQueueName(endpoint.name, i));
          return { consumer: endpoint.name, ...(await queues.counts(names)), partitions: held };
        }),
      );
    },

    boardQueues() {
      return [...groups.values()].flatMap(({ endpoint, partitions }) =>
        Array.from({ length: partitions }, (_, i) => queues.published(partitionQueueName(endpoint.name, i))),
      );
    },

    connected: () => !closing && publisher.status === 'ready' && redis.status === 'ready',

    async health() {
      if (closing) return { ok: false, detail: 'closed' };
      const refused = refusalOf(publisher, redis);
      if (refused) return { ok: false, detail: refused.message, permanent: refused };
      if (publisher.status !== 'ready') return { ok: false, detail: `redis: ${publisher.status}` };
      try {
        await publisher.ping();
        return { ok: true };
      } catch (error) {
        return { ok: false, detail: `redis: ${error instanceof Error ? error.message : String(error)}` };
      }
    },

    close() {
      closing ??= (async () => {
        await Promise.all([...groups.values()].map((group) => group.close()));
        if (groups.size > 0) await liveness.stop(CLOSE_PATIENCE_MS);
        await queues.close();
        await Promise.all([closeConnection(redis), closeConnection(publisher)]);
      })();
      return closing;
    },
  };
}
