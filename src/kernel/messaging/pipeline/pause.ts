import { type DependencyUnavailableError, errorText } from '../errors.js';
import type { DeliveryOutcome } from '../transport.js';
import type { ConsumerScope } from './scope.js';

/** Pauses the consumer for a delivery whose handler found a dependency down (the retry step). */
export type Pause = (error: DependencyUnavailableError) => DeliveryOutcome;

/**
 * A handler that throws DependencyUnavailableError (a circuit breaker around something outside the
 * app is open) failed through no fault of its message: retrying it would spend its attempts and
 * dead-letter it, and every message after it would follow. The consumer pauses instead
 * (../consumer-pause.ts): its transport starts nothing and takes no more from the broker until the
 * dependency is worth trying again, then redelivers this message first. The outcome 'paused' is
 * not an attempt (like a hold: ./hold.ts); nothing is written. It counts in
 * `bus_messages_handled_total{outcome="paused"}`, and the pause in `bus_consumer_paused`.
 */
export function pauser(scope: Pick<ConsumerScope, 'pause'>): Pause {
  const { pause } = scope;
  return (error) => {
    const text = errorText(error);
    pause.pause(error.dependency, error.retryAfterMs, text);
    return { kind: 'paused', dependency: error.dependency, error: text };
  };
}
