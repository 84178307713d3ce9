/**
 * Measuring a message path: a producer publishes numbered messages, a consumer reports each one
 * it handled. Throughput: `count` messages published in batches (one confirm wait per batch),
 * from the first publish to the last handled. Latency: one message in flight at a time, from
 * just before its publish to the moment its handler ran.
 */
import { type Latency, summarize, withTimeout } from './stats.js';

export type Publish = (numbers: readonly number[]) => Promise<void>;

export class Tracker {
  #next = 0;
  #waiters = new Map<number, (at: number) => void>();
  #onHandled: ((n: number, at: number) => void) | undefined;
  handledCount = 0;

  /** The consumer side calls this for every message it handled. */
  readonly handled = (n: number): void => {
    const at = performance.now();
    this.handledCount++;
    this.#onHandled?.(n, at);
    const waiter = this.#waiters.get(n);
    if (waiter) {
      this.#waiters.delete(n);
      waiter(at);
    }
  };

  /** Fresh message numbers (never reused, so a late duplicate cannot count twice). */
  take(count: number): number[] {
    const numbers = Array.from({ length: count }, (_, i) => this.#next + i);
    this.#next += count;
    return numbers;
  }

  #handledAt(n: number): Promise<number> {
    return new Promise((resolve) => this.#waiters.set(n, resolve));
  }

  /** Messages per second through the path. */
  async throughput(publish: Publish, count: number, batch: number, timeoutMs: number): Promise<number> {
    const numbers = this.take(count);
    const first = numbers[0] ?? 0;
    const seen = new Set<number>();
    let lastAt = 0;
    const all = new Promise<void>((resolve) => {
      this.#onHandled = (n, at) => {
        if (n < first || n >= first + count || seen.has(n)) return;
        seen.add(n);
        lastAt = at;
        if (seen.size === count) resolve();
      };
    });
    const t0 = performance.now();
    const publishing = (async () => {
      for (let i = 0; i < count; i += batch) await publish(numbers.slice(i, i + batch));
    })();
    await withTimeout(
      Promise.all([publishing, all]),
      timeoutMs,
      `throughput (${seen.size}/${count} handled)`,
    ).finally(() => {
      this.#onHandled = undefined;
    });
    return count / ((lastAt - t0) / 1000);
  }

  /** Publish→handled latency with one message in flight. */
  async latency(publish: Publish, count: number, timeoutMs: number): Promise<Latency> {
    const samples: number[] = [];
    const deadline = performance.now() + timeoutMs;
    for (const n of this.take(count)) {
      const handled = this.#handledAt(n);
      const t0 = performance.now();
      await publish([n]);
      const at = await withTimeout(handled, Math.max(1, deadline - performance.now()), 'latency');
      samples.push(at - t0);
    }
    return summarize(samples);
  }
}

export interface PathFigures {
  readonly rate: number;
  readonly latency: Latency;
}

export interface PathPlan {
  readonly warmup: number;
  readonly count: number;
  readonly batch: number;
  readonly latencyCount: number;
  /** Throughput runs; the best one is reported (others on this machine add noise, never speed). */
  readonly rounds: number;
  readonly timeoutMs: number;
}

/** Warm-up, then the best of `rounds` throughput runs, then the latency run. */
export async function measurePath(tracker: Tracker, publish: Publish, plan: PathPlan): Promise<PathFigures> {
  if (plan.warmup > 0) await tracker.throughput(publish, plan.warmup, plan.batch, plan.timeoutMs);
  let rate = 0;
  for (let round = 0; round < plan.rounds; round++) {
    rate = Math.max(rate, await tracker.throughput(publish, plan.count, plan.batch, plan.timeoutMs));
  }
  const latency = await tracker.latency(publish, plan.latencyCount, plan.timeoutMs);
  return { rate, latency };
}
