/**
 * The delivery pipeline: what a consumer does with one delivery, as a list of steps. Each step is
 * a middleware, `(next) => handler`, in its own file; `createConsumer` (../consumer.ts) composes
 * them once per consumer, in one list, around the terminal step that runs the subscription's handler.
 */
import type { Awaitable } from '../../persistence/awaitable.js';
import type { Envelope } from '../envelope.js';
import type { DeliveryOutcome } from '../transport.js';

/**
 * One delivery on its way down the pipeline: one object per delivery, shared by every step. The
 * decode step fills in the envelope; the steps after it read `envelope`, the steps before it
 * (measure) read `envelopeIfDecoded` once the delivery is done.
 */
export class Delivery {
  readonly raw: string | Buffer;
  /** 1 for the first delivery, 2 for the first retry, … */
  readonly attempt: number;
  /** The transport's completion, run inside the transaction that completes the delivery. */
  readonly settle: (() => Awaitable<unknown>) | undefined;
  /** The transport knows the consumer has not settled this message (ConsumerEndpoint.deliver). */
  readonly unsettled: boolean;
  #envelope: Envelope | undefined = undefined;

  constructor(
    raw: string | Buffer,
    attempt: number,
    settle: (() => Awaitable<unknown>) | undefined,
    unsettled = false,
  ) {
    this.raw = raw;
    this.attempt = attempt;
    this.settle = settle;
    this.unsettled = unsettled;
  }

  /** The decoded, upcast, validated envelope; throws when read by a step placed before decode. */
  get envelope(): Envelope {
    if (this.#envelope === undefined) throw new Error('the delivery is not decoded yet: decode comes first');
    return this.#envelope;
  }

  /**
   * The envelope, or undefined when the message could not be decoded (or decode has not run). For
   * a held message (a newer schema version this build cannot read), the envelope as received.
   */
  get envelopeIfDecoded(): Envelope | undefined {
    return this.#envelope;
  }

  /** Set by the decode step only (and its hold). */
  decodedAs(envelope: Envelope): void {
    this.#envelope = envelope;
  }
}

/**
 * Handles a delivery. It may throw synchronously as well as reject: a step that needs no `await`
 * returns next's promise as it is (one promise less per delivery), so a step that catches failures
 * must catch around `await next(delivery)`, which sees both.
 */
export type DeliveryHandler = (delivery: Delivery) => Promise<DeliveryOutcome>;

/** One step of the pipeline: wraps the steps after it. Called once per consumer, not per delivery. */
export type Middleware = (next: DeliveryHandler) => DeliveryHandler;

/**
 * The handler that runs `middlewares` in list order around `terminal`: the first one is the
 * outermost, and any of them may return without calling next (short-circuit). Compose once per
 * consumer: a delivery then costs a call per step, no chain is built for it.
 */
export function compose(middlewares: readonly Middleware[], terminal: DeliveryHandler): DeliveryHandler {
  return middlewares.reduceRight<DeliveryHandler>((next, middleware) => middleware(next), terminal);
}

/** Outcomes without data, shared rather than allocated per delivery (they are read-only). */
export const HANDLED: DeliveryOutcome = Object.freeze({ kind: 'handled' });
export const DUPLICATE: DeliveryOutcome = Object.freeze({ kind: 'duplicate' });
