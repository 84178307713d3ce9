import { errorText } from '../errors.js';
import type { DeliveryOutcome } from '../transport.js';
import type { Delivery } from './pipeline.js';
import type { ConsumerScope } from './scope.js';

/** Stores a delivery as a dead letter and settles it; the decode and retry steps share it. */
export type DeadLetter = (delivery: Delivery, error: unknown) => Promise<DeliveryOutcome>;

/**
 * Writes the dead letter (the raw payload as received, the error text, the attempts) and settles
 * the delivery in one transaction. A decoded message is also marked in the inbox, so a broker
 * redelivery (a lost ack) is a duplicate rather than a second dead letter; replay clears the mark.
 */
export function deadLetterWriter(
  scope: Pick<ConsumerScope, 'name' | 'module' | 'database' | 'inbox' | 'deadLetters' | 'log'>,
): DeadLetter {
  const { name, module, database, inbox, deadLetters, log } = scope;
  return async (delivery, error) => {
    const text = errorText(error);
    const { raw, attempt, settle } = delivery;
    const messageId = delivery.envelopeIfDecoded?.id;
    await database.transaction(async () => {
      await deadLetters.add({
        consumer: name,
        module,
        payload: raw.toString(),
        error: text,
        attempts: attempt,
      });
      if (messageId !== undefined) await inbox.claim(name, messageId);
      await settle?.();
    });
    log.error({ attempt, error: text }, 'message dead-lettered');
    return { kind: 'dead-lettered', error: text };
  };
}
