/** How often the transport's connection is sampled: an outage is seen within this. */
const SAMPLE_MS = 250;

export interface BusOutage {
  /** The last sample that saw the bus up: an outage is never counted shorter than it was. */
  readonly since: number;
  /** The first sample that saw it down. */
  readonly seenAt: number;
  /** The first sample that saw it up again. */
  readonly until: number;
}

/**
 * Whether this process's bus is down, sampled from the transport (`Transport.connected`), and
 * every outage reported once it has ended. The saga coordinators pause their step deadlines with
 * it (coordinator.ts). `down` flips back only after the end listeners have run, so nothing reads
 * "up" before the deadlines have been moved.
 */
export class BusOutages {
  readonly #connected: () => boolean;
  readonly #listeners: ((outage: BusOutage) => void)[] = [];
  #down = false;
  #since = 0;
  #seenAt = 0;
  #lastUp = Date.now();
  #timer: NodeJS.Timeout | undefined;

  constructor(connected: () => boolean) {
    this.#connected = connected;
  }

  get down(): boolean {
    return this.#down;
  }

  onEnd(listener: (outage: BusOutage) => void): void {
    this.#listeners.push(listener);
  }

  start(): void {
    this.#lastUp = Date.now();
    this.#timer ??= setInterval(() => this.sample(), SAMPLE_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One sample (the timer's; tests call it directly). */
  sample(): void {
    const now = Date.now();
    if (!this.#connected()) {
      if (!this.#down) {
        this.#down = true;
        this.#since = this.#lastUp;
        this.#seenAt = now;
      }
      return;
    }
    if (this.#down) {
      const outage = { since: this.#since, seenAt: this.#seenAt, until: now };
      for (const listener of this.#listeners) listener(outage);
      this.#down = false;
    }
    this.#lastUp = now;
  }
}
