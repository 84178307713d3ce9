import {
  DependencyUnavailableError,
  errorText,
  NewerSchemaVersionError,
  NonRetryableError,
} from '../errors.js';
import { retryDelayMs } from '../retry.js';
import type { DeliveryOutcome } from '../transport.js';
import type { DeadLetter } from './dead-letter.js';
import type { Hold } from './hold.js';
import { pauser } from './pause.js';
import type { Delivery, Middleware } from './pipeline.js';
import type { ConsumerScope } from './scope.js';

/**
 * Turns a failure of the steps after it into the outcome the transport acts on: a retry after the
 * policy's delay, or a dead letter on the last attempt or at once for a `NonRetryableError`; a
 * hold, never counted as an attempt, when the handler met data of a newer schema version than
 * this build reads (a stored event a newer build wrote); a pause of the consumer, never counted as
 * an attempt either, when the handler found a dependency down (DependencyUnavailableError: ./pause.ts).
 * Any other ending tells the consumer's pause that the dependency did not stop this delivery.
 * Placed outside the causal context, as its log lines have always been.
 */
export function retryOrDeadLetter(
  scope: Pick<ConsumerScope, 'policy' | 'log' | 'pause'>,
  deadLetter: DeadLetter,
  hold: Hold,
): Middleware {
  const { policy, log, pause: flow } = scope;
  const pause = pauser(scope);
  const failed = (delivery: Delivery, error: unknown): DeliveryOutcome | Promise<DeliveryOutcome> => {
    if (error instanceof DependencyUnavailableError) return pause(error);
    flow.passed(); // it failed, but not for a dependency that is down
    if (error instanceof NewerSchemaVersionError) return hold(delivery, error);
    const { attempt, envelope } = delivery;
    if (error instanceof NonRetryableError || attempt >= policy.attempts) return deadLetter(delivery, error);
    const delayMs = retryDelayMs(policy, attempt);
    log.warn({ type: envelope.type, messageId: envelope.id, attempt, delayMs, err: error }, 'handler failed');
    return { kind: 'retry', delayMs, error: errorText(error) };
  };
  const passed = (outcome: DeliveryOutcome): DeliveryOutcome => {
    flow.passed(); // a consumer trying again after a pause has recovered
    return outcome;
  };
  // A `then`, not an async function with an await: one promise per delivery instead of two.
  return (next) => (delivery) => {
    let outcome: Promise<DeliveryOutcome>;
    try {
      outcome = next(delivery);
    } catch (error) {
      return Promise.resolve(failed(delivery, error));
    }
    return outcome.then(passed, (error: unknown) => failed(delivery, error));
  };
}
