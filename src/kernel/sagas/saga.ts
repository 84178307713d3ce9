import type { Envelope, MessageDraft } from '../messaging/envelope.js';
import type { AnyMessageDefinition } from '../messaging/message-types.js';
import type { Tx } from '../outbox/outbox.js';

export type SagaStatus = 'running' | 'compensating' | 'completed' | 'compensated' | 'failed';
export const TERMINAL_SAGA_STATUSES: readonly SagaStatus[] = ['completed', 'compensated', 'failed'];

/** The message a saga receives when its current step got no reply within the step timeout. */
export const SAGA_STEP_TIMED_OUT = 'kernel.saga-step-timed-out';

/**
 * What undoes a step, and the reply that says it was undone. The kernel sends `message` when the
 * saga compensates, and finishes the instance `compensated` once every reply awaited has arrived.
 */
export interface Compensation {
  readonly message: MessageDraft;
  /**
   * The type of the reply, correlated to the same instance, that confirms `message` took effect.
   * Null only for a compensation stored before replies were named (an instance in flight across
   * that upgrade): it is sent, and not waited for.
   */
  readonly awaitsReply: string | null;
}

/**
 * `undo(refundPayment(ref), paymentRefunded)`: a compensation and the reply it waits for. The
 * reply must be among the saga's `handles`, or the kernel could never see it (a step naming such
 * a reply throws).
 */
export function undo(message: MessageDraft, reply: AnyMessageDefinition): Compensation {
  return { message, awaitsReply: reply.type };
}

export type SagaDecision =
  | {
      readonly kind: 'step';
      readonly step: string;
      readonly send: readonly MessageDraft[];
      /** What undoes this step; sent (newest step first) when the saga compensates. */
      readonly compensation: readonly Compensation[];
    }
  | {
      readonly kind: 'compensate';
      readonly reason: string;
      /** Also undo the current step: right after a timeout, when its effect is unknown. */
      readonly includeCurrentStep: boolean;
    }
  | {
      readonly kind: 'finish';
      readonly status: 'completed' | 'compensated' | 'failed';
      readonly reason?: string;
    }
  | { readonly kind: 'ignore' };

/** Starts the next step: sends `send` and arms the step timeout. */
export function nextStep(
  step: string,
  options: { send: readonly MessageDraft[]; compensation?: readonly Compensation[] },
): SagaDecision {
  return { kind: 'step', step, send: options.send, compensation: options.compensation ?? [] };
}

/**
 * Undoes the completed steps, newest first, and hands the instance to the kernel: it finishes
 * `compensated` when every compensation's reply has arrived (at once when there is nothing to
 * undo), or `failed` (compensation_timeout) when the step timeout fires first.
 */
export function compensate(reason: string, options: { includeCurrentStep?: boolean } = {}): SagaDecision {
  return { kind: 'compensate', reason, includeCurrentStep: options.includeCurrentStep ?? false };
}

export function finish(status: 'completed' | 'compensated' | 'failed', reason?: string): SagaDecision {
  return reason === undefined ? { kind: 'finish', status } : { kind: 'finish', status, reason };
}

export function ignore(): SagaDecision {
  return { kind: 'ignore' };
}

export interface SagaProgress {
  readonly status: SagaStatus;
  readonly step: string;
}

export interface SagaStepRecord {
  readonly step: string;
  readonly compensation: readonly Compensation[];
}

export interface SagaInstance<State> {
  readonly name: string;
  readonly id: string;
  readonly status: SagaStatus;
  readonly step: string;
  readonly state: State;
  readonly steps: readonly SagaStepRecord[];
  /**
   * The reply types still awaited while compensating, one per compensation sent (a type twice
   * when two compensations reply with it); empty otherwise. On an instance that failed with
   * compensation_timeout: the replies that never came.
   */
  readonly awaiting: readonly string[];
  readonly reason: string | null;
  readonly correlationId: string;
  /**
   * The id of the last message the instance sent (the request whose reply it waits for): what a
   * step timeout makes it send is caused by that request, so the flow's causal chain stays whole.
   */
  readonly lastSentId: string | null;
  /**
   * The outbox row of that message (null for instances written before it was recorded): the step
   * deadline counts from when the relay published it, and the step timeout takes its partition key.
   */
  readonly lastSentSeq: number | null;
  /**
   * Epoch ms when the current step times out, as far as is known; null when finished. The
   * coordinator moves it later while the request waits to be published or this process's bus is
   * down (see `SagaDefinition.stepTimeoutMs`), so what is shown may still move.
   */
  readonly deadline: number | null;
  readonly version: number;
}

/**
 * A saga as pure functions; the kernel's coordinator persists instances, sends what `decide`
 * returns, correlates replies, fires step timeouts (as a `kernel.saga-step-timed-out` message)
 * and sees a compensation through on its own.
 */
export interface SagaDefinition<State> {
  /** `<module>.<name>`: the persistence key and consumer name. Never rename it. */
  readonly name: string;
  readonly startedBy: readonly AnyMessageDefinition[];
  /** Every reply the saga waits for, the replies its compensations await included. */
  readonly handles: readonly AnyMessageDefinition[];
  /**
   * How long a step waits for its reply before the saga receives `kernel.saga-step-timed-out`
   * (default: the kernel's SAGA_STEP_TIMEOUT_MS). It measures the business wait, not the system's
   * own delays. Guarantees of the kernel's coordinator:
   * - the time counts from when the outbox relay published the step's last request, not from when
   *   it was staged (an outbox backlog, or a broker that is away, does not count);
   * - it does not run while this process's transport reports itself down: once the transport is
   *   back, every deadline armed before the outage is moved later by the outage's length;
   * - a reply published before the timeout is handled before it, when the reply carries the
   *   partition key of the step's last request (as every reply of this project does): the timeout
   *   travels as a message through the saga's own consumer, keyed like that request, so it queues
   *   behind replies already waiting there (a backlog of this module's own does not count);
   * - a step that is truly unanswered still times out: at most `stepTimeoutMs` after its request
   *   was published, plus the outages of this process's transport, plus the time the timeout
   *   waits in the saga's queue.
   * An outage this process did not live through (it was started while the broker was away) is not
   * known to it: such deadlines count it.
   */
  readonly stepTimeoutMs?: number;
  /** The instance id a message belongs to. */
  correlate(message: Envelope): string;
  /**
   * The path (GET, on an instance of the saga's module) of the timeline of what an instance is
   * about, which an admin may read (for example an order's): the dashboard links each instance to it.
   */
  timeline?(id: string): string;
  initialState(message: Envelope): State;
  /** Folds every message into the state; `progress` is where the flow was before the message. */
  evolve(state: State, message: Envelope, progress: SagaProgress): State;
  /**
   * What a message does to a `running` instance. Never asked while compensating: the kernel then
   * only checks off the awaited replies, and a step timeout finishes `failed`.
   */
  decide(message: Envelope, state: State, progress: SagaProgress): SagaDecision;
  /** Runs in the transaction that finishes the instance: the owning module updates its own state here. */
  onFinish?(tx: Tx, instance: SagaInstance<State>): void | Promise<void>;
}

/** A saga with its state type erased, as modules and the coordinator hold it. */
export type Saga = SagaDefinition<unknown>;

export function defineSaga<State>(definition: SagaDefinition<State>): Saga {
  return definition as unknown as Saga;
}
