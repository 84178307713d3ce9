/** Latency samples (milliseconds) and the figures the report shows. */
import { withTimeout as kernelWithTimeout } from '../../../src/kernel/time.js';

export interface Latency {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentile of ascending `sorted` (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

export function summarize(samples: readonly number[]): Latency {
  const sorted = Float64Array.from(samples).sort();
  const list = Array.from(sorted);
  return {
    count: list.length,
    p50: percentile(list, 50),
    p99: percentile(list, 99),
    max: list.at(-1) ?? Number.NaN,
  };
}

/** 12 345 → "12.3k", 845 → "845", 3.456 → "3.46". */
export function formatRate(value: number): string {
  if (!Number.isFinite(value)) return '—';
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(2)}k`;
  if (value >= 100) return value.toFixed(0);
  return value.toFixed(value >= 10 ? 1 : 2);
}

/** Milliseconds with 2 significant decimals below 10 ms. */
export function formatMs(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  if (value < 0.01) return `${(value * 1000).toFixed(2)} µs`;
  if (value < 10) return `${value.toFixed(2)} ms`;
  if (value < 1000) return `${value.toFixed(0)} ms`;
  return `${(value / 1000).toFixed(2)} s`;
}

export function formatRatio(value: number): string {
  if (!Number.isFinite(value)) return '—';
  if (value >= 0.1) return `${value.toFixed(2)}×`;
  if (value >= 0.001) return `${value.toFixed(4)}×`;
  return `${value.toExponential(1)}×`;
}

/** Waits `ms`, keeping the bench alive meanwhile (the kernel's `sleep` does not). */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves or rejects like `promise`, or rejects after `ms` with `what` in the message. */
export const withTimeout = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  kernelWithTimeout(promise, ms, `${what}: no result within ${Math.round(ms / 1000)} s`);

/**
 * The best of `rounds` rounds of `count` calls of `call` (given 0, 1, 2, … across rounds): the
 * fastest round's rate per second and the latencies of its calls. A call that returns a promise is
 * awaited; a synchronous one is timed as it is, with no await between calls.
 */
export async function bestOfRounds(
  rounds: number,
  count: number,
  call: (n: number) => unknown,
): Promise<{ rate: number; latency: Latency }> {
  let best = 0;
  let samples: number[] = [];
  let n = 0;
  for (let round = 0; round < rounds; round++) {
    const times = new Array<number>(count);
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const s = performance.now();
      const pending = call(n++);
      if (pending instanceof Promise) await pending;
      times[i] = performance.now() - s;
    }
    const rate = count / ((performance.now() - t0) / 1000);
    if (rate > best) {
      best = rate;
      samples = times;
    }
  }
  return { rate: best, latency: summarize(samples) };
}
