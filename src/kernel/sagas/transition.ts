import type { Envelope, MessageDraft } from '../messaging/envelope.js';
import {
  SAGA_STEP_TIMED_OUT,
  type SagaDefinition,
  type SagaInstance,
  type SagaStatus,
  TERMINAL_SAGA_STATUSES,
} from './saga.js';

// What a message does to a saga instance, as pure functions over the model of saga.ts: the
// coordinator (coordinator.ts) and sagaSpec (testing/saga-spec.ts) share this one logic.

export interface SagaTransition<State> {
  readonly instance: SagaInstance<State>;
  /** Messages to stage, in order. */
  readonly send: readonly MessageDraft[];
  readonly finished: boolean;
}

/**
 * The coordinator's whole logic, pure: what a message does to an instance (undefined when the
 * message starts nothing, or the instance has already finished).
 */
export function transitionSaga<State>(
  saga: SagaDefinition<State>,
  current: SagaInstance<State> | undefined,
  message: Envelope,
  now: number,
  defaultStepTimeoutMs: number,
): SagaTransition<State> | undefined {
  let instance = current;
  if (!instance) {
    if (!saga.startedBy.some((m) => m.type === message.type)) return undefined;
    instance = {
      name: saga.name,
      id: saga.correlate(message),
      status: 'running',
      step: 'started',
      state: saga.initialState(message),
      steps: [],
      reason: null,
      correlationId: message.correlationid,
      lastSentId: null,
      deadline: null,
      version: 0,
    };
  } else if (TERMINAL_SAGA_STATUSES.includes(instance.status)) {
    return undefined;
  }
  const state = saga.evolve(instance.state, message);
  const decision = saga.decide(message, state, { status: instance.status, step: instance.step });
  const deadline = now + (saga.stepTimeoutMs ?? defaultStepTimeoutMs);
  const base = { ...instance, state, version: instance.version + 1 };
  switch (decision.kind) {
    case 'ignore': {
      // An ignored timeout disarms the timer; anything else leaves the current deadline running.
      const kept = message.type === SAGA_STEP_TIMED_OUT ? null : instance.deadline;
      return { instance: { ...base, deadline: kept }, send: [], finished: false };
    }
    case 'step':
      if (instance.status !== 'running')
        throw new Error(`${saga.name}: cannot start a step while ${instance.status}`);
      return {
        instance: {
          ...base,
          step: decision.step,
          steps: [...instance.steps, { step: decision.step, compensation: decision.compensation }],
          deadline,
        },
        send: decision.send,
        finished: false,
      };
    case 'compensate': {
      const undone = decision.includeCurrentStep ? instance.steps : instance.steps.slice(0, -1);
      const send = undone.toReversed().flatMap((s) => s.compensation);
      if (send.length === 0) {
        return finished({ ...base, reason: decision.reason }, 'compensated', decision.reason);
      }
      return {
        instance: {
          ...base,
          status: 'compensating',
          step: 'compensating',
          reason: decision.reason,
          deadline,
        },
        send,
        finished: false,
      };
    }
    case 'finish':
      return finished(base, decision.status, decision.reason ?? base.reason);
  }
}

function finished<State>(
  instance: SagaInstance<State>,
  status: SagaStatus,
  reason: string | null,
): SagaTransition<State> {
  return {
    instance: { ...instance, status, step: status, reason, deadline: null },
    send: [],
    finished: true,
  };
}

/** The synthetic message a timed-out instance receives. */
export function stepTimedOut(instance: SagaInstance<unknown>, now: number): Envelope {
  return {
    specversion: '1.0',
    id: `${instance.name}:${instance.id}:timeout:${instance.version}`,
    source: 'kernel',
    type: SAGA_STEP_TIMED_OUT,
    time: new Date(now).toISOString(),
    datacontenttype: 'application/json',
    schemaversion: 1,
    correlationid: instance.correlationId,
    causationid: instance.lastSentId,
    partitionkey: instance.id,
    data: { saga: instance.name, id: instance.id, step: instance.step },
  };
}
