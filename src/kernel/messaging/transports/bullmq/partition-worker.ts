import { sleep, within } from '../../../time.js';
import { type PartitionContext, PartitionRun } from './partition-run.js';
import { runRestoreOrphans } from './scripts.js';

/** Unref: a pending race or backoff never keeps the process alive by itself. */

/**
 * Works one partition queue while this instance holds its lease. Each run restores the jobs a
 * previous holder left active (in order; at once when that holder is dead by its heartbeat, else
 * once its locks expire), then fetches with a new manual Worker (see PartitionRun).
 * Any fault ends the run; the jobs in hand are finished or given back, and a new run begins.
 */
export class PartitionWorker {
  readonly #ctx: PartitionContext;
  readonly #queueKey: string;
  #stopping = false;
  #run: PartitionRun | undefined;
  /** Tokens of this worker's finished runs: their leftover locks hold nothing back. */
  readonly #ownTokens: string[] = [];
  #done: Promise<void> | undefined;

  constructor(ctx: PartitionContext) {
    this.#ctx = ctx;
    this.#queueKey = `${ctx.settings.prefix}:${ctx.queueName}`;
  }

  start(): void {
    this.#done ??= this.#loop().catch((error: unknown) => {
      this.#ctx.log.error({ err: error, queue: this.#ctx.queueName }, 'partition worker failed');
    });
  }

  /**
   * Ends the current run and starts a new one. After a Redis reconnect a command may have run
   * twice (ioredis resends what had no reply): a second fetch leaves a job active that no run
   * knows. A new run gives back what has not started and restores such jobs, in order.
   */
  restartRun(reason: string): void {
    this.#run?.fault(reason);
  }

  /** Stops fetching, gives back what has not started, waits for the rest. Idempotent. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#run?.interrupt();
    await this.#done;
  }

  async #loop(): Promise<void> {
    while (!this.#stopping) {
      if (!(await this.#restoreOrphans())) return;
      const run = new PartitionRun(this.#ctx, this.#queueKey, () => this.#stopping);
      this.#run = run;
      try {
        await run.execute();
      } finally {
        this.#run = undefined;
        this.#ownTokens.push(run.token);
        this.#ownTokens.splice(0, this.#ownTokens.length - 4);
      }
    }
  }

  /** True once no job of a previous holder is left active (false when stopping first). */
  async #restoreOrphans(): Promise<boolean> {
    const pollMs = Math.min(500, Math.max(50, this.#ctx.settings.lockDurationMs / 10));
    while (!this.#stopping) {
      try {
        // bounded, so that stopping is not held up while Redis is away (commands wait for it)
        const { redis, liveness } = this.#ctx;
        const restore = runRestoreOrphans(redis, this.#queueKey, this.#ownTokens, {
          instancesKey: liveness.key,
          judging: liveness.judging,
        });
        restore.catch(() => {}); // a late failure after the timeout below is no news
        const moved = await within(restore, 2000, () => -1);
        if (moved > 0) this.#ctx.log.warn({ queue: this.#ctx.queueName, moved }, 'restored jobs left active');
        if (moved >= 0) return true;
      } catch (error) {
        this.#ctx.log.warn({ err: error, queue: this.#ctx.queueName }, 'restoring left jobs failed');
      }
      await sleep(pollMs);
    }
    return false;
  }
}
