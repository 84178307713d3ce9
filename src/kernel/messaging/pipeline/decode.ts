import type { Envelope } from '../envelope.js';
import { NewerSchemaVersionError } from '../errors.js';
import type { DeadLetter } from './dead-letter.js';
import type { Hold } from './hold.js';
import type { Middleware } from './pipeline.js';
import type { ConsumerScope } from './scope.js';

/**
 * Parses, upcasts and validates the raw message (`MessageTypes.decode`) and hands the envelope to
 * the steps after it. A message that does not decode can never be handled: it is dead-lettered at
 * once with the reason, and marked in no inbox (it has no trusted id). A newer schema version this
 * build cannot read is no such message (a newer build reads it): it is held (./hold.ts).
 */
export function decode(
  scope: Pick<ConsumerScope, 'messageTypes'>,
  deadLetter: DeadLetter,
  hold: Hold,
): Middleware {
  const { messageTypes } = scope;
  return (next) => (delivery) => {
    let envelope: Envelope;
    try {
      envelope = messageTypes.decode(delivery.raw);
    } catch (error) {
      if (error instanceof NewerSchemaVersionError) return Promise.resolve(hold(delivery, error));
      return deadLetter(delivery, error);
    }
    delivery.decodedAs(envelope);
    return next(delivery);
  };
}
