import type { Envelope, MessageDraft } from '../messaging/envelope.js';
import {
  type Compensation,
  SAGA_STEP_TIMED_OUT,
  type SagaDecision,
  type SagaDefinition,
  type SagaInstance,
  type SagaProgress,
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
  const instance = current ?? started(saga, message);
  if (!instance || TERMINAL_SAGA_STATUSES.includes(instance.status)) return undefined;
  const progress: SagaProgress = { status: instance.status, step: instance.step };
  const state = saga.evolve(instance.state, message, progress);
  const next = { ...instance, state, version: instance.version + 1 };
  if (instance.status === 'compensating') return whileCompensating(saga, next, message);
  const deadline = now + (saga.stepTimeoutMs ?? defaultStepTimeoutMs);
  return decided(saga, next, saga.decide(message, state, progress), message, deadline);
}

function started<State>(saga: SagaDefinition<State>, message: Envelope): SagaInstance<State> | undefined {
  if (!saga.startedBy.some((m) => m.type === message.type)) return undefined;
  return {
    name: saga.name,
    id: saga.correlate(message),
    status: 'running',
    step: 'started',
    state: saga.initialState(message),
    steps: [],
    awaiting: [],
    reason: null,
    correlationId: message.correlationid,
    lastSentId: null,
    lastSentSeq: null,
    deadline: null,
    version: 0,
  };
}

function decided<State>(
  saga: SagaDefinition<State>,
  instance: SagaInstance<State>,
  decision: SagaDecision,
  message: Envelope,
  deadline: number,
): SagaTransition<State> {
  switch (decision.kind) {
    case 'ignore': {
      // An ignored timeout disarms the timer; anything else leaves the current deadline running.
      const kept = message.type === SAGA_STEP_TIMED_OUT ? null : instance.deadline;
      return { instance: { ...instance, deadline: kept }, send: [], finished: false };
    }
    case 'step': {
      assertRepliesHandled(saga, decision.compensation);
      const steps = [...instance.steps, { step: decision.step, compensation: decision.compensation }];
      return {
        instance: { ...instance, step: decision.step, steps, deadline },
        send: decision.send,
        finished: false,
      };
    }
    case 'compensate':
      return compensating(instance, decision.reason, decision.includeCurrentStep, deadline);
    case 'finish':
      return finished(instance, decision.status, decision.reason ?? instance.reason);
  }
}

/** A reply the saga does not handle never reaches it: the instance would always time out. */
function assertRepliesHandled(saga: SagaDefinition<unknown>, compensation: readonly Compensation[]): void {
  for (const { awaitsReply } of compensation) {
    if (!saga.handles.some((m) => m.type === awaitsReply)) {
      throw new Error(`${saga.name}: a compensation awaits ${awaitsReply}, which the saga does not handle`);
    }
  }
}

function compensating<State>(
  instance: SagaInstance<State>,
  reason: string,
  includeCurrentStep: boolean,
  deadline: number,
): SagaTransition<State> {
  const undone = includeCurrentStep ? instance.steps : instance.steps.slice(0, -1);
  const compensations = undone.toReversed().flatMap((s) => s.compensation);
  const send = compensations.map((c) => c.message);
  const awaiting = compensations.flatMap((c) => (c.awaitsReply === null ? [] : [c.awaitsReply]));
  if (awaiting.length === 0) return { ...finished({ ...instance, reason }, 'compensated', reason), send };
  return {
    instance: { ...instance, status: 'compensating', step: 'compensating', awaiting, reason, deadline },
    send,
    finished: false,
  };
}

/**
 * The kernel's own handling of a compensating instance. A step timeout gives up waiting (failed,
 * compensation_timeout; the compensations stay queued, and their receivers are idempotent). An
 * awaited reply of this instance is checked off once, and the last one finishes it `compensated`
 * with the reason it compensated for. Anything else (a late reply, a repeated one, another
 * instance's) changes nothing and leaves the deadline running.
 */
function whileCompensating<State>(
  saga: SagaDefinition<State>,
  instance: SagaInstance<State>,
  message: Envelope,
): SagaTransition<State> {
  if (message.type === SAGA_STEP_TIMED_OUT) return finished(instance, 'failed', 'compensation_timeout');
  const at = instance.awaiting.indexOf(message.type);
  if (at === -1 || saga.correlate(message) !== instance.id) return { instance, send: [], finished: false };
  const awaiting = instance.awaiting.toSpliced(at, 1);
  if (awaiting.length > 0) return { instance: { ...instance, awaiting }, send: [], finished: false };
  return finished({ ...instance, awaiting }, 'compensated', instance.reason);
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
