import type { Redis } from 'ioredis';
import type { Logger } from '../../../observability/logger.js';
import { within } from '../../../time.js';
import { instancesKey } from './keys.js';
import { runBeat } from './scripts.js';

/** How long an instance counts as alive after its last heartbeat, by default. */
export const DEFAULT_LIVENESS_TTL_MS = 3000;

/**
 * This transport instance's heartbeat in Redis, and whether it may judge other instances dead.
 *
 * Every `ttlMs / 3` the instance writes its own expiry (Redis time + `ttlMs`) into the ZSET
 * `<prefix>:instances`. An instance whose expiry has passed is dead: the lease round hands its
 * partitions over and the partition workers restore its locked jobs at once (scripts.ts:
 * `leaseRound`, `restoreOrphans`), instead of waiting for its 10 s leases and job locks to expire.
 * An instance never seen in the ZSET (an older build) is judged by its leases and locks alone.
 *
 * Judging needs a fair view: right after this instance (re)connects, the others' entries may be
 * stale only because Redis was away for everyone. So it judges only once it has itself been
 * beating without a gap for `ttlMs`: by then every live, connected instance has beaten too.
 *
 * A live instance judged dead (its event loop stalled for longer than `ttlMs`, or it alone lost
 * Redis for that long) loses its partitions and the jobs it holds are delivered again elsewhere;
 * its lock renewals then fail and its runs stop. The consumers' inboxes absorb the redelivery, and
 * per-key order holds (the new holder starts with the restored jobs, oldest first), so a wrong
 * verdict costs duplicate work, never a double effect.
 */
export class InstanceLiveness {
  readonly instanceId: string;
  readonly key: string;
  readonly #redis: Redis;
  readonly #ttlMs: number;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #beating = false;
  /** Date.now() from which this instance judges others; Infinity while it is not beating. */
  #judgingFrom = Number.POSITIVE_INFINITY;
  #failures = 0;

  constructor(options: { redis: Redis; prefix: string; instanceId: string; ttlMs: number; log: Logger }) {
    this.#redis = options.redis;
    this.instanceId = options.instanceId;
    this.key = instancesKey(options.prefix);
    this.#ttlMs = options.ttlMs;
    this.#log = options.log;
    this.#redis.on('close', () => {
      this.#judgingFrom = Number.POSITIVE_INFINITY;
    });
  }

  /** Whether this instance may declare others dead now (see the class comment). */
  get judging(): boolean {
    return Date.now() >= this.#judgingFrom;
  }

  /** Beats now and every ttl / 3 until `stop`. Idempotent. */
  start(): void {
    if (this.#timer) return;
    void this.#beat();
    this.#timer = setInterval(() => void this.#beat(), Math.max(10, this.#ttlMs / 3));
    this.#timer.unref();
  }

  /**
   * Stops beating and records this instance as gone, so nobody waits for what it leaves locked
   * (skipped while Redis is away: its entry then expires by itself within the TTL).
   */
  async stop(patienceMs: number): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#judgingFrom = Number.POSITIVE_INFINITY;
    if (this.#redis.status !== 'ready') return;
    const gone = runBeat(this.#redis, this.key, this.instanceId, -1);
    gone.catch(() => {});
    await within(gone, patienceMs, () => undefined);
  }

  async #beat(): Promise<void> {
    if (this.#beating) return;
    this.#beating = true;
    try {
      // commands on this connection wait through an outage: a beat that does not answer within
      // its TTL is a gap (it may still land later, which is harmless)
      const beat = runBeat(this.#redis, this.key, this.instanceId, this.#ttlMs).then(() => true);
      beat.catch(() => {});
      if (!(await within(beat, this.#ttlMs, () => false))) throw new Error('no answer in time');
      if (this.#judgingFrom === Number.POSITIVE_INFINITY) this.#judgingFrom = Date.now() + this.#ttlMs;
      this.#failures = 0;
    } catch (error) {
      this.#judgingFrom = Number.POSITIVE_INFINITY;
      if (this.#failures++ % 20 === 0) this.#log.warn({ err: error }, 'bullmq heartbeat failed');
    } finally {
      this.#beating = false;
    }
  }
}
