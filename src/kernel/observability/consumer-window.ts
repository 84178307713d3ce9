/**
 * What each consumer of this process did over the last minute: messages handled per second and
 * the p99 of the pipeline's time per delivery (what `bus_handler_duration_seconds` observes),
 * for the dashboard. Prometheus has the same figures as cumulative series, but reading a rate or
 * a quantile over a window from them needs two scrapes and a query engine; a process that shows
 * its own minute keeps that minute itself.
 *
 * Per consumer, a ring of one-second slots, each with the number of messages handled and a
 * histogram of durations on log-spaced bounds (each 20 % over the one before, 0.1 ms to ~70 s).
 * Recording is O(1) and the memory fixed (SLOTS × BOUNDS.length counters per consumer); the p99
 * read from it is the upper bound of the bucket it falls in, so at most 20 % over the true value.
 */

/** Length of the window, in one-second slots. */
export const WINDOW_SECONDS = 60;
const GROWTH = 1.2;
const BOUNDS: readonly number[] = Array.from({ length: 75 }, (_, i) => 0.0001 * GROWTH ** i);

/** One consumer's minute, as read now. */
export interface ConsumerRate {
  /** Messages handled (outcome `handled`) per second over the last minute. */
  readonly throughputPerSecond: number;
  /** p99 of the time per delivery over the last minute (seconds); undefined without deliveries. */
  readonly p99Seconds: number | undefined;
  /** Deliveries measured in the window (every outcome), the p99's sample size. */
  readonly deliveries: number;
}

class ConsumerWindow {
  /** The epoch second each slot holds; a slot of another second is stale and reads as empty. */
  readonly #second = new Float64Array(WINDOW_SECONDS).fill(-1);
  readonly #handled = new Uint32Array(WINDOW_SECONDS);
  /** Row `slot` holds that second's histogram: BOUNDS.length + 1 buckets (the last: over the top bound). */
  readonly #buckets = new Uint32Array(WINDOW_SECONDS * (BOUNDS.length + 1));

  #slot(nowMs: number): number {
    const second = Math.floor(nowMs / 1000);
    const slot = second % WINDOW_SECONDS;
    if (this.#second[slot] !== second) {
      this.#second[slot] = second;
      this.#handled[slot] = 0;
      this.#buckets.fill(0, slot * (BOUNDS.length + 1), (slot + 1) * (BOUNDS.length + 1));
    }
    return slot;
  }

  observe(seconds: number, handled: boolean, nowMs: number): void {
    const slot = this.#slot(nowMs);
    if (handled) this.#handled[slot] = (this.#handled[slot] ?? 0) + 1;
    let bucket = BOUNDS.findIndex((bound) => seconds <= bound);
    if (bucket === -1) bucket = BOUNDS.length;
    const index = slot * (BOUNDS.length + 1) + bucket;
    this.#buckets[index] = (this.#buckets[index] ?? 0) + 1;
  }

  read(nowMs: number): ConsumerRate {
    const now = Math.floor(nowMs / 1000);
    const totals = new Array<number>(BOUNDS.length + 1).fill(0);
    let handled = 0;
    for (let slot = 0; slot < WINDOW_SECONDS; slot++) {
      const second = this.#second[slot] ?? -1;
      if (second <= now - WINDOW_SECONDS || second > now) continue;
      handled += this.#handled[slot] ?? 0;
      for (let bucket = 0; bucket <= BOUNDS.length; bucket++) {
        totals[bucket] = (totals[bucket] ?? 0) + (this.#buckets[slot * (BOUNDS.length + 1) + bucket] ?? 0);
      }
    }
    const deliveries = totals.reduce((sum, n) => sum + n, 0);
    return {
      throughputPerSecond: handled / WINDOW_SECONDS,
      p99Seconds: quantile(totals, deliveries, 0.99),
      deliveries,
    };
  }
}

/** The bound of the bucket holding the q-quantile (the top bound for the overflow bucket). */
function quantile(totals: readonly number[], count: number, q: number): number | undefined {
  if (count === 0) return undefined;
  const rank = Math.ceil(q * count);
  let seen = 0;
  for (let bucket = 0; bucket < totals.length; bucket++) {
    seen += totals[bucket] ?? 0;
    if (seen >= rank) return BOUNDS[Math.min(bucket, BOUNDS.length - 1)];
  }
  return BOUNDS[BOUNDS.length - 1];
}

/** The last minute of every consumer of this process (created on its first delivery). */
export class ConsumerWindows {
  readonly #windows = new Map<string, ConsumerWindow>();

  /** Records one delivery the pipeline finished: its time, and whether it was handled. */
  observe(consumer: string, seconds: number, handled: boolean, nowMs = Date.now()): void {
    let window = this.#windows.get(consumer);
    if (!window) {
      window = new ConsumerWindow();
      this.#windows.set(consumer, window);
    }
    window.observe(seconds, handled, nowMs);
  }

  /** The consumer's last minute; zero throughput and no p99 when it has had no delivery. */
  read(consumer: string, nowMs = Date.now()): ConsumerRate {
    return (
      this.#windows.get(consumer)?.read(nowMs) ?? {
        throughputPerSecond: 0,
        p99Seconds: undefined,
        deliveries: 0,
      }
    );
  }
}
