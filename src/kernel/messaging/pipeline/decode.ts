import type { Envelope } from '../envelope.js';
import type { DeadLetter } from './dead-letter.js';
import type { Middleware } from './pipeline.js';
import type { ConsumerScope } from './scope.js';

/**
 * Parses, upcasts and validates the raw message (`MessageTypes.decode`) and hands the envelope to
 * the steps after it. A message that does not decode can never be handled: it is dead-lettered at
 * once with the reason, and marked in no inbox (it has no trusted id).
 */
export function decode(scope: Pick<ConsumerScope, 'messageTypes'>, deadLetter: DeadLetter): Middleware {
  const { messageTypes } = scope;
  return (next) => (delivery) => {
    let envelope: Envelope;
    try {
      envelope = messageTypes.decode(delivery.raw);
    } catch (error) {
      return Promise.resolve(deadLetter(delivery, error));
    }
    delivery.decodedAs(envelope);
    return next(delivery);
  };
}
