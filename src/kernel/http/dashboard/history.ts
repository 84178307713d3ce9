import type { ConsumerWindows } from '../../observability/consumer-window.js';

/** One sample of a consumer: when, its throughput over the minute before, its lag (null: unknown). */
export interface HistoryPoint {
  /** Epoch ms. */
  readonly at: number;
  readonly throughputPerSecond: number;
  readonly lag: number | null;
}

/** A sample every 15 s, 60 of them: the last 15 minutes. */
export const HISTORY_INTERVAL_MS = 15_000;
export const HISTORY_POINTS = 60;

/**
 * The last 15 minutes of each consumer of this process, sampled in memory by the process that
 * runs it (each instance keeps its own, and serves it in its snapshot): nothing to store, and a
 * restarted process starts a new history, as its counters do. A sample reads the consumers' lag
 * from the transport (`lag`, which may reject or take long: the lag is then unknown) and the
 * throughput from the kernel's rolling window.
 */
export class ConsumerHistory {
  readonly #series = new Map<string, HistoryPoint[]>();
  readonly #consumers: () => readonly string[];
  readonly #recent: ConsumerWindows;
  readonly #lag: () => Promise<ReadonlyMap<string, number>>;
  readonly #timer: NodeJS.Timeout;
  #sampling: Promise<void> | undefined;

  constructor(
    consumers: () => readonly string[],
    recent: ConsumerWindows,
    lag: () => Promise<ReadonlyMap<string, number>>,
    intervalMs = HISTORY_INTERVAL_MS,
  ) {
    this.#consumers = consumers;
    this.#recent = recent;
    this.#lag = lag;
    this.#timer = setInterval(() => void this.sample(), intervalMs);
    this.#timer.unref();
  }

  /** Takes a sample now (unless one is in flight: a slow broker never piles reads up). */
  sample(): Promise<void> {
    this.#sampling ??= this.#sample().finally(() => {
      this.#sampling = undefined;
    });
    return this.#sampling;
  }

  async #sample(): Promise<void> {
    const lags = await this.#lag().catch(() => new Map<string, number>());
    const at = Date.now();
    for (const consumer of this.#consumers()) {
      const series = this.#series.get(consumer) ?? [];
      series.push({
        at,
        throughputPerSecond: this.#recent.read(consumer, at).throughputPerSecond,
        lag: lags.get(consumer) ?? null,
      });
      if (series.length > HISTORY_POINTS) series.shift();
      this.#series.set(consumer, series);
    }
  }

  /** The consumer's samples, oldest first. */
  of(consumer: string): readonly HistoryPoint[] {
    return this.#series.get(consumer) ?? [];
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
