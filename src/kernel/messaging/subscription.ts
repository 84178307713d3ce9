import type { Logger } from '../observability/logger.js';
import type { Tx } from '../outbox/outbox.js';
import type { Envelope } from './envelope.js';
import { NonRetryableError } from './errors.js';
import type { AnyMessageDefinition, MessageOf } from './message-types.js';
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

/** A handler typed by the message it takes: `message.data` and `message.type` need no cast. */
export type TypedHandler<D extends AnyMessageDefinition> = (
  message: MessageOf<D>,
  ctx: HandlerContext,
) => Promise<void> | void;

/** Which messages go to which handler, built with `on(definition, handler)`. */
export interface MessageHandler {
  readonly messages: readonly AnyMessageDefinition[];
  readonly handle: Handler;
}

/**
 * Pairs a message (or several, handled alike) with its handler. The handler's parameter is typed
 * from the definitions, so the compiler rejects a handler written for another message; the kernel
 * calls it only with messages of these types (the consumer dispatches on `type`).
 */
export function on<const D extends AnyMessageDefinition>(
  messages: D | readonly D[],
  handler: TypedHandler<D>,
): MessageHandler {
  const list: readonly AnyMessageDefinition[] = Array.isArray(messages) ? messages : [messages as D];
  // Sound: dispatch delivers only envelopes whose type is one of `list`, decoded and validated
  // against that definition's schema (MessageTypes.decode).
  return { messages: list, handle: handler as Handler };
}

export interface Subscription {
  /** `<module>.<purpose>`: the durable consumer's name. Never rename it. */
  readonly consumer: string;
  /** `on(message, handler)` pairs; every message type the consumer takes is named in exactly one. */
  readonly handlers: readonly MessageHandler[];
  /** Messages handled at once, never two with the same partition key (default 1). */
  readonly concurrency?: number;
  readonly retry?: Partial<RetryPolicy>;
  /**
   * The types routed to the consumer when it subscribes (default: every type its handlers take).
   * For a consumer that needs few of the types it could take (webhooks): the others cost no
   * delivery. Read at start, after the module's start hook; the module routes more with
   * `ModuleContext.routeTypes`.
   */
  readonly typesAtStart?: () => readonly string[];
}

/** The message definitions a subscription takes, each once. */
export function messagesOf(subscription: Subscription): readonly AnyMessageDefinition[] {
  return [...new Set(subscription.handlers.flatMap((handler) => handler.messages))];
}

/**
 * The handler a delivery goes to: the one its type was paired with. Throws at subscription when
 * two handlers name the same type (which one runs would be an accident of order).
 */
export function dispatcherOf(subscription: Subscription): Handler {
  const byType = new Map<string, Handler>();
  for (const { messages, handle } of subscription.handlers) {
    for (const { type } of messages) {
      if (byType.has(type)) throw new Error(`${subscription.consumer}: ${type} has two handlers`);
      byType.set(type, handle);
    }
  }
  const only =
    byType.size > 0 && new Set(byType.values()).size === 1 ? byType.values().next().value : undefined;
  if (only) return only;
  return (message, ctx) => {
    const handle = byType.get(message.type);
    if (!handle) throw new NonRetryableError(`${subscription.consumer} has no handler for ${message.type}`);
    return handle(message, ctx);
  };
}
