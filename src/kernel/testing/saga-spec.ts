import { randomUUID } from 'node:crypto';
import type { Envelope, MessageDraft } from '../messaging/envelope.js';
import type { SagaDefinition, SagaInstance } from '../sagas/saga.js';
import { stepTimedOut, transitionSaga } from '../sagas/transition.js';

/** Turns a draft (what `orderPlaced({...})` returns) into the envelope a saga would receive. */
export function envelopeOf<T, Type extends string>(
  draft: MessageDraft<T, Type>,
  correlationId = 'test-correlation',
): Envelope<T, Type> {
  return {
    specversion: '1.0',
    id: randomUUID(),
    source: draft.type.slice(0, draft.type.indexOf('.')),
    type: draft.type,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    schemaversion: draft.schemaversion,
    correlationid: correlationId,
    causationid: null,
    partitionkey: draft.partitionkey,
    data: draft.data,
  };
}

export interface SagaOutcome<State> {
  readonly instance: SagaInstance<State> | undefined;
  /** Types of the messages the last step sent, in order. */
  readonly sentTypes: readonly string[];
  readonly sent: readonly MessageDraft[];
}

/** Marker for `when`: the current step's timeout fires. */
export const STEP_TIMEOUT = Symbol('step timeout');

/**
 * Given/when/then for sagas, with the coordinator's own transition logic and no I/O:
 * `sagaSpec(checkout).given(placed, paid).when(outOfStock)` → the instance and what it sent.
 */
export function sagaSpec<State>(saga: SagaDefinition<State>, stepTimeoutMs = 30_000) {
  const run = (history: readonly (MessageDraft | typeof STEP_TIMEOUT)[]) => {
    let instance: SagaInstance<State> | undefined;
    let sent: readonly MessageDraft[] = [];
    for (const item of history) {
      const now = Date.now();
      const message =
        item === STEP_TIMEOUT
          ? stepTimedOut(required(instance) as SagaInstance<unknown>, now)
          : envelopeOf(item, instance?.correlationId);
      const transition = transitionSaga(saga, instance, message, now, stepTimeoutMs);
      sent = transition?.send ?? [];
      instance = transition?.instance ?? instance;
    }
    return { instance, sent, sentTypes: sent.map((m) => m.type) };
  };
  return {
    given: (...history: (MessageDraft | typeof STEP_TIMEOUT)[]) => ({
      when: (message: MessageDraft | typeof STEP_TIMEOUT): SagaOutcome<State> => run([...history, message]),
    }),
  };
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('a step timeout needs a started saga in `given`');
  return value;
}
