import type { Logger } from '../../observability/logger.js';
import {
  type ConsumerEndpoint,
  type DeliveryOutcome,
  type LaterOutcome,
  nextAttempt,
  runsAgain,
} from '../transport.js';

/** A final outcome: handled, a duplicate, or dead-lettered (never 'retry', 'held' nor 'paused'). */
export type SettledOutcome = Exclude<DeliveryOutcome, LaterOutcome>;

export interface Settled {
  readonly outcome: SettledOutcome;
  /** The attempt that settled it (1 = first delivery). */
  readonly attempts: number;
}

/** One fetched job on its way through the consumer. */
export interface Delivery {
  /** The broker's id of this delivery (a job id). */
  readonly id: string;
  readonly key: string;
  readonly raw: string;
  /** The attempt to start with (above 1 when an earlier holder gave it back between retries). */
  readonly firstAttempt: number;
  /** Who fetched it (a partition worker's run); `withdraw` takes back one owner's deliveries. */
  readonly owner: object;
  onSettled(settled: Settled): void;
  /** Told when the delivery starts or stops waiting for a retry (it holds no slot meanwhile). */
  onParked(parked: boolean): void;
}

/** A delivery taken back before it settled, with the attempt it would have run next. */
export interface Withdrawn {
  readonly delivery: Delivery;
  readonly nextAttempt: number;
}

interface Entry {
  readonly delivery: Delivery;
  attempt: number;
  running: boolean;
  retryTimer: NodeJS.Timeout | undefined;
}

/**
 * Per-key ordered, bounded-concurrency delivery for one consumer endpoint: messages of a key run
 * one at a time in arrival order; different keys run in parallel up to the endpoint's
 * concurrency. A failed attempt (or a held one: a newer schema version, not counted as an attempt)
 * waits for the consumer's delay with its key held back but without holding a concurrency slot,
 * so a burst of failing keys cannot starve a healthy one.
 * While the endpoint's flow is paused (a dependency of its handler is down) no attempt starts; a
 * delivery that met the outage (outcome 'paused', not an attempt) goes back to the front of the
 * line, so it is the first to run when the flow resumes, and its key stays held back meanwhile.
 * `withdraw` takes back one owner's deliveries that are not running (waiting, or between
 * retries) so they can be returned to the broker in order when a partition is handed over.
 */
export class KeyLanes {
  readonly #endpoint: ConsumerEndpoint;
  readonly #log: Logger;
  readonly #lanes = new Map<string, Entry[]>();
  readonly #ready: string[] = [];
  #active = 0;

  constructor(endpoint: ConsumerEndpoint, log: Logger) {
    this.#endpoint = endpoint;
    this.#log = log;
    endpoint.flow?.onResume(() => this.#pump());
  }

  /** True while the endpoint's flow is paused: whoever fetches for these lanes should stop. */
  get paused(): boolean {
    return this.#endpoint.flow?.paused === true;
  }

  /** Calls `listener` when the endpoint's flow resumes; returns a function that stops the calls. */
  onResume(listener: () => void): () => void {
    return this.#endpoint.flow?.onResume(listener) ?? (() => {});
  }

  dispatch(delivery: Delivery): void {
    const entry: Entry = { delivery, attempt: delivery.firstAttempt, running: false, retryTimer: undefined };
    const lane = this.#lanes.get(delivery.key);
    if (lane) {
      lane.push(entry);
      return;
    }
    this.#lanes.set(delivery.key, [entry]);
    this.#ready.push(delivery.key);
    this.#pump();
  }

  /** Takes back `owner`'s deliveries that are not running; a running one finishes its attempt (and retries). */
  withdraw(owner: object): Withdrawn[] {
    const taken: Withdrawn[] = [];
    for (const [key, lane] of this.#lanes) {
      const keep = lane.filter((entry) => entry.running || entry.delivery.owner !== owner);
      if (keep.length === lane.length) continue;
      for (const entry of lane) {
        if (keep.includes(entry)) continue;
        if (entry.retryTimer) {
          clearTimeout(entry.retryTimer);
          entry.delivery.onParked(false);
        }
        taken.push({ delivery: entry.delivery, nextAttempt: entry.attempt });
      }
      if (keep.length > 0) {
        this.#lanes.set(key, keep);
      } else {
        this.#lanes.delete(key);
        const index = this.#ready.indexOf(key);
        if (index >= 0) this.#ready.splice(index, 1);
      }
    }
    return taken;
  }

  #pump(): void {
    while (this.#active < this.#endpoint.concurrency && !this.paused) {
      const key = this.#ready.shift();
      if (key === undefined) return;
      const head = this.#lanes.get(key)?.[0];
      if (!head) continue;
      head.running = true;
      this.#active++;
      void this.#attempt(key, head).finally(() => {
        this.#active--;
        this.#pump();
      });
    }
  }

  async #attempt(key: string, entry: Entry): Promise<void> {
    const outcome = await this.#deliver(entry.delivery.raw, entry.attempt);
    entry.running = false;
    if (outcome.kind === 'paused') {
      // the same attempt, first in line: it runs when the flow resumes (this attempt's end pumps)
      this.#ready.unshift(key);
      return;
    }
    if (runsAgain(outcome)) {
      if (!('sameAttempt' in outcome)) entry.attempt = nextAttempt(outcome, entry.attempt);
      entry.delivery.onParked(true);
      // +1: a timer may fire up to a millisecond early by the wall clock (Date.now())
      entry.retryTimer = setTimeout(() => {
        entry.retryTimer = undefined;
        entry.delivery.onParked(false);
        this.#ready.push(key);
        this.#pump();
      }, outcome.delayMs + 1);
      return;
    }
    try {
      entry.delivery.onSettled({ outcome, attempts: entry.attempt });
    } catch (error) {
      this.#log.error({ err: error, consumer: this.#endpoint.name }, 'settling a delivery failed');
    }
    const lane = this.#lanes.get(key);
    lane?.shift();
    if (lane && lane.length > 0) this.#ready.push(key);
    else this.#lanes.delete(key);
  }

  /**
   * `deliver` never throws by contract. If it does anyway (a broken database?), the same attempt
   * runs again a second later, the key held back; the delivery can be withdrawn meanwhile.
   */
  async #deliver(raw: string, attempt: number): Promise<DeliveryOutcome | (Retry & { sameAttempt: true })> {
    try {
      return await this.#endpoint.deliver(raw, attempt);
    } catch (error) {
      this.#log.error({ err: error, consumer: this.#endpoint.name }, 'delivery threw; trying again in 1 s');
      return { kind: 'retry', delayMs: 1000, error: String(error), sameAttempt: true };
    }
  }
}

type Retry = Extract<DeliveryOutcome, { kind: 'retry' }>;
