import type { Logger } from '../observability/logger.js';
import type { ConsumerFlow } from './transport.js';

/** A shorter pause is taken as this long: a dependency that says "now" must not make a hot loop. */
export const MIN_PAUSE_MS = 100;
/** A longer pause is cut to this: the consumer tries again at least this often, whatever it was told. */
export const MAX_PAUSE_MS = 300_000;
/** The pause of a dependency that gave no usable delay (NaN, Infinity). */
const DEFAULT_PAUSE_MS = 1000;

/** Why and since when a consumer is paused: for metrics, readiness and the dashboard. */
export interface PauseState {
  readonly consumer: string;
  /** What is down (DependencyUnavailableError.dependency). */
  readonly dependency: string;
  /** When the outage began as this consumer saw it (epoch ms), kept across failed tries. */
  readonly since: number;
  /** When the consumer takes deliveries again to try the dependency (epoch ms). */
  readonly resumesAt: number;
  /** The error that paused it last. */
  readonly error: string;
}

type State =
  | { readonly kind: 'running' }
  | ({ readonly kind: 'paused' } & PauseState)
  /** Taking deliveries again after a pause, until one shows whether the dependency is back. */
  | { readonly kind: 'probing'; readonly dependency: string; readonly since: number };

const RUNNING: State = Object.freeze({ kind: 'running' });

const pauseMs = (retryAfterMs: number): number =>
  Number.isFinite(retryAfterMs)
    ? Math.min(MAX_PAUSE_MS, Math.max(MIN_PAUSE_MS, retryAfterMs))
    : DEFAULT_PAUSE_MS;

/**
 * One consumer's flow: running, or paused while a dependency of its handler is down. The delivery
 * pipeline pauses it (a handler threw DependencyUnavailableError: pipeline/pause.ts) until the
 * dependency is worth trying again (a circuit breaker's half-open time), then resumes it: the
 * transports start deliveries again, the paused ones first, and the first delivery is the
 * dependency's trial. One that meets the dependency down again pauses it again, the outage's start
 * kept; one that goes through (`passed`) ends the outage.
 *
 * Nothing here is needed for correctness: a paused delivery is never an attempt, so a resume too
 * early, or a delivery started before the pause that ends after it, costs a delivery that pauses
 * again, and never a dead letter or a reordering.
 */
export class ConsumerPause implements ConsumerFlow {
  readonly #consumer: string;
  readonly #log: Logger;
  readonly #listeners = new Set<() => void>();
  #state: State = RUNNING;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(consumer: string, log: Logger) {
    this.#consumer = consumer;
    this.#log = log;
  }

  get paused(): boolean {
    return this.#state.kind === 'paused';
  }

  /** Why the consumer is paused, or undefined while it takes deliveries. */
  get state(): PauseState | undefined {
    const state = this.#state;
    if (state.kind !== 'paused') return undefined;
    const { kind: _, ...pause } = state;
    return pause;
  }

  onResume(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Pauses the consumer for `retryAfterMs` (from MIN_PAUSE_MS to MAX_PAUSE_MS), or until then when
   * it is paused already and would resume earlier (several deliveries in flight meet the outage).
   */
  pause(dependency: string, retryAfterMs: number, error: string, now = Date.now()): void {
    if (this.#closed) return;
    const state = this.#state;
    const delayMs = pauseMs(retryAfterMs);
    const resumesAt = now + delayMs;
    if (state.kind === 'paused' && state.resumesAt >= resumesAt) return;
    const since = state.kind === 'running' ? now : state.since;
    if (state.kind === 'running') {
      this.#log.warn({ dependency, resumeInMs: delayMs, error }, 'consumer paused: a dependency is down');
    } else if (state.kind === 'probing') {
      this.#log.info(
        { dependency, resumeInMs: delayMs, downForMs: now - since },
        'consumer paused again: the dependency is still down',
      );
    }
    this.#state = { kind: 'paused', consumer: this.#consumer, dependency, since, resumesAt, error };
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#resume(), delayMs);
    this.#timer.unref(); // a pause never keeps a stopping process alive
  }

  /** A delivery went through without meeting a dependency down: a consumer trying again recovered. */
  passed(now = Date.now()): void {
    const state = this.#state;
    if (state.kind !== 'probing') return; // running; or paused, by a delivery that ended after it started
    this.#log.info(
      { dependency: state.dependency, downForMs: now - state.since },
      'consumer resumed: the dependency answers again',
    );
    this.#state = RUNNING;
  }

  /** At stop: no more resumes (the transport is closing). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#listeners.clear();
  }

  #resume(): void {
    const state = this.#state;
    if (state.kind !== 'paused' || this.#closed) return;
    this.#state = { kind: 'probing', dependency: state.dependency, since: state.since };
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch (error) {
        this.#log.error({ err: error }, 'resuming a paused consumer failed in its transport');
      }
    }
  }
}
