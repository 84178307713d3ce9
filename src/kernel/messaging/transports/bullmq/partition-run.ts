import { randomUUID } from 'node:crypto';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../../observability/logger.js';
import { sleep, within } from '../../../time.js';
import type { KeyLanes, Settled } from '../key-lanes.js';
import { lockTokenFor, peekRaw } from './keys.js';
import type { InstanceLiveness } from './liveness.js';

export interface PartitionSettings {
  readonly prefix: string;
  readonly lockDurationMs: number;
  /** Jobs fetched and not yet completed, at most (so other keys flow past a retrying one). */
  readonly prefetch: number;
  /** Seconds a fetch blocks waiting for a job (BullMQ drainDelay). */
  readonly blockTimeoutSec: number;
}

export interface PartitionContext {
  readonly queueName: string;
  readonly lanes: KeyLanes;
  /** The shared worker connection (maxRetriesPerRequest: null). */
  readonly redis: Redis;
  /** This instance (its id goes into lock tokens), and whether it judges others dead. */
  readonly liveness: InstanceLiveness;
  readonly settings: PartitionSettings;
  readonly log: Logger;
  /** Called for a dead-lettered message before its job completes (the DLQ copy); never throws. */
  readonly onDeadLetter: (raw: string, error: string, attempts: number) => Promise<void>;
}

interface Fetched {
  readonly job: Job;
  readonly id: string;
  readonly seq: number;
}

/** Unref: a pending race or backoff never keeps the process alive by itself. */
const rawOf = (job: Job): string => (typeof job.data === 'string' ? job.data : JSON.stringify(job.data));
/** The attempt a job resumes at: stored in its progress when a holder gave it back between retries. */
const attemptOf = (job: Job): number => {
  const progress = job.progress as { attempt?: unknown } | undefined;
  return typeof progress === 'object' && typeof progress?.attempt === 'number' ? progress.attempt : 1;
};

/**
 * A manual Worker whose fetching can be retired. A fetch waits on the blocking connection, then
 * moves a job to active; a fetch the run stopped waiting for could do the second step later (when
 * Redis answers again), leaving a job active that nobody works and that later runs fetch past.
 * After `retire()` no fetch reaches Redis; jobs fetched but never handed to the run are `unclaimed`.
 */
class RetirableWorker extends Worker {
  readonly unclaimed = new Map<string, Job>();
  readonly #underWay = new Set<Promise<Job>>();
  #retired = false;

  protected override async moveToActive(token: string, name?: string): Promise<Job> {
    if (this.#retired) return undefined as unknown as Job;
    const moving = super.moveToActive(token, name);
    this.#underWay.add(moving);
    try {
      const job = await moving;
      if (job?.id) this.unclaimed.set(job.id, job);
      return job;
    } finally {
      this.#underWay.delete(moving);
    }
  }

  /** No fetch reaches Redis after this; resolves once the moves under way have answered. */
  async retire(): Promise<void> {
    this.#retired = true;
    await Promise.allSettled([...this.#underWay]);
  }
}

/**
 * One Worker's life. Jobs are fetched one at a time (so in queue order) up to `prefetch`, handed
 * to the consumer's key lanes (per-key order, the endpoint's concurrency) and completed when the
 * consumer settles them; their locks are renewed here. Ends when stopping, or on a fault: fetches
 * failing, a fetch stuck past its block timeout, a lock lost, a completion refused.
 */
export class PartitionRun {
  readonly #ctx: PartitionContext;
  readonly #queueKey: string;
  readonly #stopping: () => boolean;
  readonly token: string;
  readonly #worker: RetirableWorker;
  readonly #held = new Map<string, Fetched>();
  readonly #late: Fetched[] = [];
  readonly #completions = new Set<Promise<void>>();
  /** Jobs whose completion is under way (a lock renewal that misses them is no loss). */
  readonly #completing = new Set<string>();
  #seq = 0;
  /** Held jobs waiting for a retry: they do not count against `prefetch`. */
  #parked = 0;
  #fault: string | undefined;
  #wake: () => void = () => {};
  #interrupted = false;
  #onInterrupt: () => void = () => {};
  #fetchingSince: number | undefined;

  constructor(ctx: PartitionContext, queueKey: string, stopping: () => boolean) {
    this.#ctx = ctx;
    this.#queueKey = queueKey;
    this.#stopping = stopping;
    this.token = lockTokenFor(randomUUID(), ctx.liveness.instanceId);
    const { settings } = ctx;
    this.#worker = new RetirableWorker(ctx.queueName, null, {
      connection: ctx.redis,
      prefix: settings.prefix,
      autorun: false,
      lockDuration: settings.lockDurationMs,
      drainDelay: settings.blockTimeoutSec,
      skipStalledCheck: true,
      skipLockRenewal: true,
      skipVersionCheck: true,
      removeOnComplete: { count: 0 },
      removeOnFail: { count: 1000 },
    });
    this.#worker.on('error', (error) => ctx.log.debug({ err: error, queue: ctx.queueName }, 'worker error'));
    this.#worker.on('closed', () => this.fault('worker closed'));
  }

  async execute(): Promise<void> {
    const renew = setInterval(
      () => void this.#renewLocks(),
      Math.max(50, this.#ctx.settings.lockDurationMs / 3),
    );
    const watchdog = setInterval(() => this.#watch(), 1000);
    const stopListening = this.#ctx.lanes.onResume(() => this.#wake());
    try {
      await this.#fetchLoop();
      clearInterval(watchdog);
      await this.#retireWorker();
      await this.#finish();
    } finally {
      stopListening();
      clearInterval(watchdog);
      clearInterval(renew);
      await this.#worker.close(true).catch(() => {});
    }
  }

  /** Ends a blocked fetch (the marker a new job would set) and a wait for a free slot. */
  interrupt(): void {
    this.#interrupted = true;
    this.#wake();
    this.#onInterrupt();
    this.#ctx.redis.zadd(`${this.#queueKey}:marker`, 0, '0').catch(() => {});
  }

  /** Ends the run after the current fetch (whose job, if any, is given back). */
  fault(reason: string): void {
    if (this.#fault || this.#stopping()) return;
    this.#fault = reason;
    this.#ctx.log.warn({ queue: this.#ctx.queueName, reason }, 'partition worker starts over');
    this.interrupt();
  }

  /**
   * Resolves (with no job) once `interrupt()` is called. A new promise for each fetch: racing
   * every fetch against one promise that lives as long as the run left a reaction on it per race,
   * each holding its fetched job, so the run kept every job it ever took (≈ 1.5 KB a message).
   */
  #untilInterrupted(): Promise<undefined> {
    return new Promise((resolve) => {
      if (this.#interrupted) resolve(undefined);
      else this.#onInterrupt = () => resolve(undefined);
    });
  }

  get #ending(): boolean {
    return this.#stopping() || this.#fault !== undefined;
  }

  async #fetchLoop(): Promise<void> {
    let failures = 0;
    while (!this.#ending) {
      // A paused consumer (a dependency of its handler is down) claims nothing more: the jobs
      // stay in the queue, not locked here, until the flow resumes and wakes this loop.
      if (this.#ctx.lanes.paused || this.#held.size - this.#parked >= this.#ctx.settings.prefetch) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        continue;
      }
      let job: Job | undefined;
      this.#fetchingSince = Date.now();
      try {
        // With Redis away the fetch waits for it (worker commands have no retry limit): stopping
        // does not wait with it. A job it takes later is restored by the next run.
        const fetching = this.#worker.getNextJob(this.token);
        fetching.catch(() => {});
        job = await Promise.race([fetching, this.#untilInterrupted()]);
        this.#onInterrupt = () => {};
        if (job?.id) this.#worker.unclaimed.delete(job.id);
        failures = 0;
      } catch (error) {
        if (++failures >= 5) this.fault(`fetching failed ${failures} times: ${String(error)}`);
        await sleep(Math.min(2000, 50 * 2 ** failures));
        continue;
      } finally {
        this.#fetchingSince = undefined;
      }
      if (!job?.id) continue;
      const fetched = { job, id: job.id, seq: this.#seq++ };
      this.#held.set(fetched.id, fetched);
      if (this.#ending) this.#late.push(fetched);
      else this.#dispatch(fetched);
    }
  }

  /**
   * How long finishing waits for Redis: a lock duration when the run starts over; at most 2 s
   * when stopping (what is left is restored by the next holder), so a close during an outage
   * ends within the kernel's shutdown timeout.
   */
  get #patienceMs(): number {
    const { lockDurationMs } = this.#ctx.settings;
    return this.#stopping() ? Math.min(lockDurationMs, 2000) : lockDurationMs;
  }

  /**
   * Stops the Worker fetching and collects what its fetches took but the loop never received.
   * A run that starts over waits for a move under way (it answers when Redis does); a stopping
   * one waits a second at most (the next holder restores what is left, once its lock expires).
   */
  async #retireWorker(): Promise<void> {
    const retired = this.#worker.retire();
    let done = false;
    void retired.then(() => {
      done = true;
    });
    while (!done && !this.#stopping()) await within(retired, 100, () => undefined);
    if (!done) await within(retired, 1000, () => undefined);
    await this.#worker.close(true).catch(() => {}); // ends a blocked wait; the connection stays
    for (const job of this.#worker.unclaimed.values()) {
      if (!job.id || this.#held.has(job.id)) continue;
      const fetched = { job, id: job.id, seq: this.#seq++ };
      this.#held.set(fetched.id, fetched);
      this.#late.push(fetched);
    }
    this.#worker.unclaimed.clear();
  }

  /** Gives back what has not started (newest first, so the oldest ends first in line); waits for the rest. */
  async #finish(): Promise<void> {
    const nextAttempts = new Map<string, number>();
    const withdrawn = this.#ctx.lanes.withdraw(this).flatMap(({ delivery, nextAttempt }) => {
      nextAttempts.set(delivery.id, nextAttempt);
      return this.#held.get(delivery.id) ?? [];
    });
    // Bounded: with Redis away, a job not given back stays active and the next run restores it.
    const deadline = Date.now() + this.#patienceMs;
    for (const { job, id } of [...withdrawn, ...this.#late].sort((a, b) => b.seq - a.seq)) {
      const attempt = nextAttempts.get(id) ?? 1;
      const giveBack = async () => {
        if (attempt > 1) await job.updateProgress({ attempt });
        await job.moveToWait(this.token);
      };
      try {
        const giving = giveBack().then(() => true);
        giving.catch(() => {}); // failing after the deadline is no news: the next run restores it
        const given = await within(giving, deadline - Date.now(), () => false);
        if (!given) throw new Error('Redis did not answer in time');
      } catch (error) {
        this.#ctx.log.warn({ err: error, jobId: id }, 'giving a job back failed; the next run restores it');
      }
      this.#held.delete(id);
    }
    // Handlers in flight run to their end (the kernel closes databases after the transport);
    // completing their jobs waits for Redis at most one lock duration: a job left active is
    // restored by the next run, and the consumer's inbox absorbs the redelivery.
    while (this.#held.size > this.#completions.size) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    await within(Promise.all(this.#completions), this.#patienceMs, () => undefined);
  }

  #dispatch(fetched: Fetched): void {
    const raw = rawOf(fetched.job);
    this.#ctx.lanes.dispatch({
      id: fetched.id,
      key: peekRaw(raw).partitionKey,
      raw,
      firstAttempt: attemptOf(fetched.job),
      owner: this,
      onSettled: (settled) => this.#complete(fetched, raw, settled),
      onParked: (parked) => {
        this.#parked += parked ? 1 : -1;
        if (parked) this.#wake();
      },
    });
  }

  #complete({ job, id }: Fetched, raw: string, settled: Settled): void {
    const done = (async () => {
      if (settled.outcome.kind === 'dead-lettered') {
        await this.#ctx.onDeadLetter(raw, settled.outcome.error, settled.attempts);
      }
      this.#completing.add(id);
      try {
        await job.moveToCompleted(settled.outcome.kind, this.token, false);
      } catch (error) {
        // The lock is gone (Redis lost it, or it expired): the job stays active until the next
        // run restores it, and the consumer's inbox turns that redelivery into a duplicate.
        this.fault(`completing job ${id} failed: ${String(error)}`);
      }
    })();
    this.#completions.add(done);
    void done.finally(() => {
      this.#held.delete(id);
      this.#completing.delete(id);
      this.#completions.delete(done);
      this.#wake();
    });
  }

  async #renewLocks(): Promise<void> {
    const ids = [...this.#held.keys()];
    if (ids.length === 0) return;
    try {
      const failed = await this.#worker.extendJobLocks(
        ids,
        ids.map(() => this.token),
        this.#ctx.settings.lockDurationMs,
      );
      const lost = failed.filter((id) => this.#held.has(id) && !this.#completing.has(id));
      if (lost.length > 0) this.fault(`locks lost: ${lost.join(', ')}`);
    } catch (error) {
      this.#ctx.log.warn({ err: error, queue: this.#ctx.queueName }, 'renewing locks failed');
    }
  }

  /** A fetch returns within its block timeout (BullMQ has its own watchdog too); else start over. */
  #watch(): void {
    const limitMs = this.#ctx.settings.blockTimeoutSec * 1000 + 5000;
    if (this.#fetchingSince !== undefined && Date.now() - this.#fetchingSince > limitMs) {
      this.fault('a fetch is stuck');
      this.#worker.close(true).catch(() => {});
    }
  }
}
