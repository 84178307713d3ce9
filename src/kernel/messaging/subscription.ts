import type { Logger } from '../observability/logger.js';
import type { Tx } from '../outbox/outbox.js';
import type { Envelope } from './envelope.js';
import type { AnyMessageDefinition } from './message-types.js';
import type { RetryPolicy } from './retry.js';

export interface HandlerContext {
  /**
   * Runs fn in ONE synchronous transaction together with this consumer's inbox record and any
   * messages fn stages. Returns false, without calling fn, when this consumer already handled the
   * message. fn must not await. Call it at most once per delivery.
   */
  transact(fn: (tx: Tx) => void): boolean;
  /** Child logger carrying consumer, type, message id and correlation id. */
  readonly log: Logger;
  /** 1 for the first delivery, 2 for the first retry, … */
  readonly attempt: number;
}

/** Resolve = handled. Throw = failed: retried with backoff, then dead-lettered. */
export type Handler = (message: Envelope, ctx: HandlerContext) => Promise<void> | void;

export interface Subscription {
  /** `<module>.<purpose>`: the durable consumer's name. Never rename it. */
  readonly consumer: string;
  readonly messages: readonly AnyMessageDefinition[];
  readonly handler: Handler;
  /** Messages handled at once, never two with the same partition key (default 1). */
  readonly concurrency?: number;
  readonly retry?: Partial<RetryPolicy>;
  /**
   * The types routed to the consumer when it subscribes (default: every type of `messages`). For
   * a consumer that needs few of the types it could take (webhooks): the others cost no delivery.
   * Read at start, after the module's start hook; the module routes more with
   * `ModuleContext.routeTypes`.
   */
  readonly typesAtStart?: () => readonly string[];
}

/** The message definitions a subscription takes, each once. */
export function messagesOf(subscription: Subscription): readonly AnyMessageDefinition[] {
  return [...new Set(subscription.messages)];
}

/** The handler a delivery of any of the subscription's types goes to. */
export function dispatcherOf(subscription: Subscription): Handler {
  return subscription.handler;
}
