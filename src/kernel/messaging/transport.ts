import type { Awaitable } from '../persistence/awaitable.js';
import type { ModuleDatabase } from '../persistence/db.js';
import type { Envelope } from './envelope.js';

export type TransportName = 'memory' | 'bullmq' | 'rabbitmq';

export type DeliveryOutcome =
  | { readonly kind: 'handled' }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'retry'; readonly delayMs: number; readonly error: string }
  /**
   * Not handled, not failed: a newer schema version than this build reads. Delivered again after
   * `delayMs` like a retry, its key held back, but the attempt is not counted (it never leads to
   * a dead letter). Meanwhile the transport may hand it to another instance (a partition handover).
   */
  | { readonly kind: 'held'; readonly delayMs: number; readonly error: string }
  /**
   * Not handled, not failed: a dependency of the handler is down (DependencyUnavailableError), and
   * the consumer's flow is paused. The delivery goes back to the front of the consumer's line, its
   * key held back, and runs first once the flow resumes; not counted as an attempt, never
   * dead-lettered. No delay of its own: the flow says when (`ConsumerFlow`).
   */
  | { readonly kind: 'paused'; readonly dependency: string; readonly error: string }
  | { readonly kind: 'dead-lettered'; readonly error: string };

/** An outcome after which the delivery runs again later: a retry, a hold or a pause. */
export type LaterOutcome = Extract<DeliveryOutcome, { kind: 'retry' | 'held' | 'paused' }>;

/** Whether the delivery runs again later (its key held back meanwhile) rather than being settled. */
export const runsAgain = (outcome: DeliveryOutcome): outcome is LaterOutcome =>
  outcome.kind === 'retry' || outcome.kind === 'held' || outcome.kind === 'paused';

/** The attempt number the next delivery of a message runs with, after `outcome` on `attempt`. */
export const nextAttempt = (outcome: LaterOutcome, attempt: number): number =>
  outcome.kind === 'retry' ? attempt + 1 : attempt;

/**
 * Whether a consumer takes deliveries now. The kernel pauses a consumer while a dependency of its
 * handler is down (a `paused` outcome), so that its messages wait in the queue rather than being
 * retried into the dead letters; a transport starts no delivery of a paused consumer and takes no
 * more from the broker than it already holds, then starts again, the paused deliveries first,
 * when told it resumed. One implementation for every transport: ../consumer-pause.ts.
 */
export interface ConsumerFlow {
  /** True while the consumer must start no delivery. Cheap: read before every start. */
  readonly paused: boolean;
  /** Calls `listener` each time the consumer resumes; returns a function that stops the calls. */
  onResume(listener: () => void): () => void;
}

/**
 * A durable consumer as every process knows it from the module catalogue, whether or not it runs
 * the consumer's module: enough to provision its queues and routes.
 */
export interface ConsumerTopology {
  /** `<module>.<purpose>`; a broker queue is named after it, so renaming orphans the queue. */
  readonly name: string;
  readonly module: string;
  /** Every type the consumer can handle (its subscription's messages). */
  readonly handles: readonly string[];
  /** The types routed to it (all it handles, or fewer: see `Subscription.typesAtStart`). */
  readonly types: readonly string[];
}

/**
 * What a transport delivers to: one durable consumer of the kernel. The consumer decodes,
 * deduplicates, runs the handler, and decides retry or dead letter; the transport only moves
 * messages, keeps per-key order, and acts on the outcome.
 */
export interface ConsumerEndpoint extends ConsumerTopology {
  /**
   * The types routed to it now: all it handles, or fewer when its subscription narrows them at
   * start (`typesAtStart`). They only grow while it runs, through `Transport.route`.
   */
  readonly types: readonly string[];
  /** Messages handled at once; never two of the same partition key. */
  readonly concurrency: number;
  /** The consumer module's database (the memory transport keeps its deliveries there). */
  readonly database: ModuleDatabase;
  /**
   * Whether it takes deliveries now (the kernel's consumers have one). An endpoint without one is
   * never paused, and must never answer `paused`.
   */
  readonly flow?: ConsumerFlow;
  /**
   * Handles one delivery and never throws. `settle`, when given, runs inside the transaction that
   * completes the delivery (handler commit, duplicate, or dead letter), so a transport can retire
   * its own record of the delivery atomically with the effect. `unsettled`: the transport knows the
   * consumer has not settled this message (it recorded the delivery only where the consumer's
   * inbox did not hold it, and nothing else can settle it meanwhile), so the consumer skips its
   * read of the inbox before the handler; the handler's transaction checks it all the same.
   */
  deliver(
    raw: string | Buffer,
    attempt: number,
    settle?: () => Awaitable<unknown>,
    unsettled?: boolean,
  ): Promise<DeliveryOutcome>;
}

export interface ConsumerStats {
  readonly consumer: string;
  /** Messages waiting in the consumer's queue(s). */
  readonly depth: number;
  /** Messages published to the consumer and not yet handled (waiting + in flight + retrying). */
  readonly lag: number;
  /** Partitions this instance works now, when the transport shares partitions between instances. */
  readonly partitions?: readonly number[];
}

export interface TransportHealth {
  readonly ok: boolean;
  readonly detail?: string;
  /**
   * Set when the broker refused this process for good (a bad login, a missing vhost, a URL the
   * client cannot use): waiting will not mend it, so start fails at once with this error.
   */
  readonly permanent?: Error;
}

/**
 * Moves envelopes from publishers to consumer endpoints. Guarantees, on every implementation:
 * at-least-once delivery to every subscribed consumer, per-partition-key order per consumer,
 * and retries and holds with the delay the consumer asks for (a hold not counted as an attempt).
 */
export interface Transport {
  readonly name: TransportName;
  /**
   * Resolves once the transport has durably accepted every message (so the outbox may mark them).
   * Rejects with an UnroutedError when a message of a type some provisioned or subscribed consumer
   * takes reached none of them on the broker (the transport provisions again before the relay
   * retries).
   */
  publish(messages: readonly Envelope[]): Promise<void>;
  /**
   * Makes the durable topology of these consumers exist (queues, partitions, routes of their
   * `types`), whether or not this process runs them, idempotently: it adds routes and never
   * removes one. A message published after it resolves, by any process, waits for each of them,
   * also when no instance of it has ever run. The kernel provisions every consumer of its module
   * catalogue before its relays publish. Rejects with a ConfigError when a consumer exists on the
   * broker with another partition count (BUS_PARTITIONS). On the memory transport a consumer's
   * queue is its module's database: what it takes waits there for a start that runs the module.
   */
  provision(consumers: readonly ConsumerTopology[]): Promise<void>;
  /** Messages published after this resolves reach the endpoint, including ones sent while it was down. */
  subscribe(endpoint: ConsumerEndpoint): Promise<void>;
  /**
   * Routes more of the subscribed endpoint's types to it (the kernel adds them to
   * `endpoint.types` first). Messages of these types published after this resolves, by any
   * process, reach the endpoint. A broker keeps such a route for good: no instance removes a type
   * another instance has routed.
   */
  route(endpoint: ConsumerEndpoint, types: readonly string[]): Promise<void>;
  /** Puts a message back on the endpoint's normal path (dead-letter replay). */
  redeliver(endpoint: ConsumerEndpoint, raw: string): Promise<void>;
  stats(): Promise<ConsumerStats[]>;
  health(): Promise<TransportHealth>;
  /**
   * Whether the transport is connected to its broker now, read synchronously and cheaply (the
   * kernel samples it: saga step deadlines do not run while it is false). Always true on memory.
   */
  connected(): boolean;
  /** Idempotent. Stops taking deliveries and waits for the handlers in flight. */
  close(): Promise<void>;
}
