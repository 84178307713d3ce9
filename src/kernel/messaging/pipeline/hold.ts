import { errorText, type NewerSchemaVersionError } from '../errors.js';
import type { DeliveryOutcome } from '../transport.js';
import type { Delivery } from './pipeline.js';
import type { ConsumerScope } from './scope.js';

/** Holds a delivery of a newer schema version than this build reads (the decode and retry steps). */
export type Hold = (delivery: Delivery, error: NewerSchemaVersionError) => DeliveryOutcome;

/**
 * A message of a newer schema version that does not read as this build's newest is not bad: a
 * newer build reads it. The same holds for a message whose handler meets a stored event of such a
 * version (NewerSchemaVersionError, through the retry step). It is held, never dead-lettered: the
 * outcome 'held' has the transport deliver it again after the policy's `holdDelayMs` with its key
 * held back (later messages of the key wait, so per-key order holds; other keys flow), without
 * counting an attempt, until an instance of a newer build takes it (this instance stops, or hands
 * its partition over). Nothing is written (no inbox mark, no dead letter). It counts in
 * `bus_messages_held`, warns in readiness and shows on the dashboard meanwhile; its first hold
 * here is logged once.
 */
export function holder(scope: Pick<ConsumerScope, 'name' | 'held' | 'log' | 'policy'>): Hold {
  const { name, held, log } = scope;
  const delayMs = scope.policy.holdDelayMs;
  return (delivery, error) => {
    // a message too new to decode: as received, so that measure counts it under its type
    if (error.envelope) delivery.decodedAs(error.envelope);
    const messageId = delivery.envelope.id;
    const { type, version, known } = error;
    if (held.hold({ consumer: name, messageId, type, version, known, delayMs })) {
      log.warn({ messageId, type: delivery.envelope.type, err: error }, 'message held for a newer build');
    }
    return { kind: 'held', delayMs, error: errorText(error) };
  };
}
