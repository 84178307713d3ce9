import type { Redis } from 'ioredis';
import type { Logger } from '../../../observability/logger.js';
import { within } from '../../../time.js';
import type { ConsumerEndpoint } from '../../transport.js';
import { KeyLanes } from '../key-lanes.js';
import { leaseKeyPrefix, membersKey, partitionQueueName } from './keys.js';
import type { InstanceLiveness } from './liveness.js';
import type { PartitionSettings } from './partition-run.js';
import { PartitionWorker } from './partition-worker.js';
import { runLeaseRound, runReleaseLease } from './scripts.js';

export interface GroupContext {
  readonly endpoint: ConsumerEndpoint;
  readonly partitions: number;
  readonly redis: Redis;
  /** This instance: its id in the leases, its heartbeat, whether it judges others dead. */
  readonly liveness: InstanceLiveness;
  readonly leaseTtlMs: number;
  readonly settings: PartitionSettings;
  readonly log: Logger;
  readonly onDeadLetter: (raw: string, error: string, attempts: number) => Promise<void>;
}

/** How long closing waits for one Redis answer (a close during an outage must still end). */
export const CLOSE_PATIENCE_MS = 2000;
/**
 * Lease rounds run every third of the lease TTL, and at least this often: a dead instance's
 * partitions are taken over at the first round after its heartbeat expired (liveness.ts).
 */
const ROUND_MS_MAX = 1000;

/** The promise's value, or undefined after `ms` (the promise keeps running). */
const atMost = <T>(promise: Promise<T>, ms: number): Promise<T | undefined> =>
  within(promise, ms, () => undefined);

/**
 * One consumer endpoint in this process: the partitions this instance may work, by lease.
 * Every lease round (a third of the lease TTL, at most a second) renews the leases held, takes
 * free partitions up to a fair share of the live instances, gives back partitions above its share
 * (after their worker has finished what it started), and stops the workers of leases lost. So
 * each partition is worked by one instance at a time (per-key order across instances), a crashed
 * instance's partitions are taken over at the first round after its heartbeat expired (or, for an
 * instance without heartbeats, its leases), and every live instance gets at least
 * floor(partitions / instances) of them (scripts.ts: leaseRound).
 */
export class ConsumerGroup {
  readonly lanes: KeyLanes;
  readonly #ctx: GroupContext;
  readonly #leasePrefix: string;
  readonly #workers = new Map<number, PartitionWorker>();
  /** Partitions whose worker is stopping (lost, given back, or closing). */
  readonly #stopping = new Map<number, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  #closed = false;
  #failures = 0;

  constructor(ctx: GroupContext) {
    this.#ctx = ctx;
    this.lanes = new KeyLanes(ctx.endpoint, ctx.log);
    this.#leasePrefix = leaseKeyPrefix(ctx.settings.prefix, ctx.endpoint.name);
  }

  get endpoint(): ConsumerEndpoint {
    return this.#ctx.endpoint;
  }

  get partitions(): number {
    return this.#ctx.partitions;
  }

  /** The partitions this instance works now. */
  get held(): number[] {
    return [...this.#workers.keys()].sort((a, b) => a - b);
  }

  /** After a Redis reconnect every partition worker starts a new run (see PartitionWorker.restartRun). */
  restartRuns(reason: string): void {
    for (const worker of this.#workers.values()) worker.restartRun(reason);
  }

  async start(): Promise<void> {
    await this.#leaseRound();
    const every = Math.max(20, Math.min(ROUND_MS_MAX, this.#ctx.leaseTtlMs / 3));
    this.#timer = setInterval(() => void this.#leaseRound(), every);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await atMost(this.#round ?? Promise.resolve(), CLOSE_PATIENCE_MS);
    for (const partition of [...this.#workers.keys()]) this.#stop(partition, true);
    await Promise.all(this.#stopping.values());
    const { redis, liveness, settings, endpoint } = this.#ctx;
    await atMost(
      redis.zrem(membersKey(settings.prefix, endpoint.name), liveness.instanceId).catch(() => 0),
      CLOSE_PATIENCE_MS,
    );
  }

  #leaseRound(): Promise<void> {
    if (this.#round || this.#closed) return this.#round ?? Promise.resolve();
    this.#round = this.#lease().finally(() => {
      this.#round = undefined;
    });
    return this.#round;
  }

  async #lease(): Promise<void> {
    const { redis, endpoint, liveness, leaseTtlMs, partitions, settings, log } = this.#ctx;
    let held: Set<number>;
    let share: number;
    try {
      const round = await runLeaseRound(redis, {
        membersKey: membersKey(settings.prefix, endpoint.name),
        instanceId: liveness.instanceId,
        ttlMs: leaseTtlMs,
        partitions,
        leasePrefix: this.#leasePrefix,
        acquire: true,
        instancesKey: liveness.key,
        judging: liveness.judging,
      });
      held = new Set(round.held);
      share = round.share;
      this.#failures = 0;
    } catch (error) {
      if (this.#failures++ % 20 === 0)
        log.warn({ err: error, consumer: endpoint.name }, 'lease round failed');
      return;
    }
    if (this.#closed) return;
    for (const partition of this.#workers.keys()) {
      if (held.has(partition)) continue;
      log.warn({ consumer: endpoint.name, partition }, 'partition lease lost; its worker stops');
      this.#stop(partition, false);
    }
    const extra = [...held].filter((p) => !this.#stopping.has(p)).sort((a, b) => b - a);
    // partitions already being given back still count in `share`: not given twice
    for (const partition of extra.slice(0, Math.max(0, extra.length - share))) {
      log.info({ consumer: endpoint.name, partition }, 'handing a partition over (fair share)');
      this.#stop(partition, true);
      held.delete(partition);
    }
    for (const partition of held) {
      if (this.#workers.has(partition) || this.#stopping.has(partition)) continue;
      const worker = new PartitionWorker({
        queueName: partitionQueueName(endpoint.name, partition),
        lanes: this.lanes,
        redis,
        liveness,
        settings,
        log,
        onDeadLetter: this.#ctx.onDeadLetter,
      });
      this.#workers.set(partition, worker);
      worker.start();
    }
  }

  /** Stops a partition's worker; `release` gives its lease back once the worker is done. */
  #stop(partition: number, release: boolean): void {
    const worker = this.#workers.get(partition);
    this.#workers.delete(partition);
    if (!worker && !release) return;
    const { redis, liveness } = this.#ctx;
    const stopping = (async () => {
      await worker?.stop();
      if (release) {
        await atMost(
          runReleaseLease(redis, `${this.#leasePrefix}${partition}`, liveness.instanceId).catch(() => {}),
          CLOSE_PATIENCE_MS,
        );
      }
    })().finally(() => this.#stopping.delete(partition));
    this.#stopping.set(partition, stopping);
  }
}
