import { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../../observability/logger.js';
import type { ConsumerEndpoint } from '../../transport.js';
import { deadLetterQueueName } from './keys.js';
import { repliesOrThrow } from './redis.js';
import type { JobsByQueue } from './routing.js';

/**
 * The BullMQ Queue objects of a transport: for publishing and stats on the publisher connection
 * (fails fast while Redis is away), for dead-letter copies on the worker connection (waits).
 */
export class Queues {
  readonly #prefix: string;
  readonly #log: Logger;
  readonly #publisher: Redis;
  readonly #worker: Redis;
  readonly #retentionMs: number;
  readonly #published = new Map<string, Queue>();
  readonly #deadLetters = new Map<string, { queue: Queue; cleanedAt: number }>();

  constructor(args: { prefix: string; log: Logger; publisher: Redis; worker: Redis; retentionMs: number }) {
    this.#prefix = args.prefix;
    this.#log = args.log;
    this.#publisher = args.publisher;
    this.#worker = args.worker;
    this.#retentionMs = args.retentionMs;
  }

  /**
   * Adds every queue's jobs in one pipeline: one round trip, and one ioredis Pipeline (building
   * one per queue, as `Queue.addBulk` does, was ≈ 5 % of the app's CPU on this transport). The
   * inserts go through each queue's backend (`addJobToTransaction`, which BullMQ keeps public so
   * that inserts into several queues can share one transaction).
   * Resolves only when Redis accepted every job: on a pipeline an insert merely queues its
   * command, so the replies are read from `exec`, and one error reply (LOADING while Redis
   * replays its AOF after a restart, say) fails the whole call; the outbox then sends the batch
   * again (the job ids make that a no-op for the jobs already in). Queues of a failed add are
   * made anew next time.
   */
  async addAll(jobs: JobsByQueue): Promise<void> {
    const first = jobs.keys().next();
    if (first.done) return;
    try {
      const pipeline = (await this.published(first.value).getBackend().client).pipeline();
      const queued: Promise<unknown>[] = [];
      for (const [name, batch] of jobs) {
        const queue = this.published(name);
        for (const spec of batch) {
          const job = new Job(queue, spec.name, spec.data, spec.opts, spec.opts.jobId);
          const { jobData, jobId } = job.toFlowEntry();
          queued.push(queue.getBackend().addJobToTransaction(pipeline, jobData, jobId));
        }
      }
      for (const insert of queued) insert.catch(() => {}); // reported by Promise.all below
      const replies = await pipeline.exec();
      await Promise.all(queued); // an insert that failed before its command was queued
      for (const result of repliesOrThrow(replies, queued.length)) {
        if (typeof result === 'number' && result < 0)
          throw new Error(`Redis refused a job insert (code ${result})`);
      }
    } catch (error) {
      for (const name of jobs.keys()) this.#published.delete(name);
      throw error;
    }
  }

  /** Waiting (depth) and waiting plus in flight (lag) over a consumer's partition queues. */
  async counts(queueNames: readonly string[]): Promise<{ depth: number; lag: number }> {
    let depth = 0;
    let lag = 0;
    for (const name of queueNames) {
      const c = await this.published(name).getJobCounts('wait', 'delayed', 'prioritized', 'active');
      const waiting = (c.wait ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0);
      depth += waiting;
      lag += waiting + (c.active ?? 0);
    }
    return { depth, lag };
  }

  /**
   * Copies a dead letter to `dlq.<module>.retry` (nobody works that queue; copies older than the
   * retention go). The consumer's SQLite store stays the source of truth: a failed copy is logged.
   */
  async copyDeadLetter(
    endpoint: ConsumerEndpoint,
    raw: string,
    error: string,
    attempts: number,
  ): Promise<void> {
    const entry = this.#deadLetterEntry(endpoint.module);
    try {
      const data = {
        consumer: endpoint.name,
        error,
        attempts,
        envelope: raw,
        failedAt: new Date().toISOString(),
      };
      await entry.queue.add('dead-letter', data, { removeOnComplete: true });
      if (Date.now() - entry.cleanedAt > 60_000) {
        entry.cleanedAt = Date.now();
        await entry.queue.clean(this.#retentionMs, 0, 'wait');
      }
    } catch (err) {
      this.#log.warn({ err, consumer: endpoint.name }, 'copying a dead letter to its BullMQ queue failed');
    }
  }

  async close(): Promise<void> {
    const queues = [...this.#published.values(), ...[...this.#deadLetters.values()].map((e) => e.queue)];
    await Promise.all(queues.map((queue) => queue.close().catch(() => {})));
  }

  #deadLetterEntry(module: string): { queue: Queue; cleanedAt: number } {
    const name = deadLetterQueueName(module);
    let entry = this.#deadLetters.get(name);
    if (!entry) {
      entry = { queue: this.#open(name, this.#worker), cleanedAt: 0 };
      this.#deadLetters.set(name, entry);
    }
    return entry;
  }

  published(name: string): Queue {
    let queue = this.#published.get(name);
    if (!queue) {
      queue = this.#open(name, this.#publisher);
      this.#published.set(name, queue);
    }
    return queue;
  }

  #open(name: string, connection: Redis): Queue {
    const queue = new Queue(name, {
      connection,
      prefix: this.#prefix,
      skipVersionCheck: true,
      streams: { events: { maxLen: 1000 } },
    });
    queue.on('error', (error) => this.#log.debug({ err: error, queue: name }, 'queue error'));
    return queue;
  }
}
