import type { Logger } from '../observability/logger.js';
import type { Tx } from '../outbox/outbox.js';
import type { Envelope } from './envelope.js';
import { NonRetryableError } from './errors.js';
import type { AnyMessageDefinition, MessageOf } from './message-types.js';
import type { RetryPolicy } from './retry.js';

/**
 * What a handler gets with each delivery. `Module` is the running module's context
 * (`ModuleContext<Settings>` in a module's subscriptions): its database, settings and logger.
 */
export interface HandlerContext<Module = unknown> {
  /**
   * Runs fn in ONE transaction together with this consumer's inbox record and any messages fn
   * stages; resolves true once they have committed, or false, without calling fn, when this
   * consumer already handled the message. fn may await (the module's write transactions wait
   * their turn meanwhile). Call it at most once per delivery, and await it.
   */
  transact(fn: (tx: Tx) => unknown): Promise<boolean>;
  /** Child logger carrying consumer, type, message id and correlation id (and trace_id/span_id when traced). */
  readonly log: Logger;
  /** 1 for the first delivery, 2 for the first retry, … */
  readonly attempt: number;
  /** The context of the module that runs this consumer, in this process. */
  readonly module: Module;
}

/** Resolve = handled. Throw = failed: retried with backoff, then dead-lettered. */
export type Handler<Module = unknown> = (
  message: Envelope,
  ctx: HandlerContext<Module>,
) => Promise<void> | void;

/** A handler typed by the message it takes: `message.data` and `message.type` need no cast. */
export type TypedHandler<D extends AnyMessageDefinition, Module = unknown> = (
  message: MessageOf<D>,
  ctx: HandlerContext<Module>,
) => Promise<void> | void;

/** Which messages go to which handler, built with `on(definition, handler)`. */
export interface MessageHandler<Module = unknown> {
  readonly messages: readonly AnyMessageDefinition[];
  readonly handle: Handler<Module>;
}

/**
 * Pairs a message (or several, handled alike) with its handler. The handler's parameter is typed
 * from the definitions, so the compiler rejects a handler written for another message; the kernel
 * calls it only with messages of these types (the consumer dispatches on `type`).
 */
export function on<const D extends AnyMessageDefinition, Module = unknown>(
  messages: D | readonly D[],
  handler: TypedHandler<D, Module>,
): MessageHandler<Module> {
  const list: readonly AnyMessageDefinition[] = Array.isArray(messages) ? messages : [messages as D];
  // Sound: dispatch delivers only envelopes whose type is one of `list`, decoded and validated
  // against that definition's schema (MessageTypes.decode).
  return { messages: list, handle: handler as Handler<Module> };
}

/**
 * A durable consumer of a module, declared without a running module (the definition is data), so
 * every process can provision its broker topology from the catalogue, whether it runs the
 * module or not. Handlers reach the running module through `ctx.module`.
 */
export interface Subscription<Module = unknown> {
  /** `<module>.<purpose>`: the durable consumer's name. Never rename it. */
  readonly consumer: string;
  /** `on(message, handler)` pairs; every message type the consumer takes is named in exactly one. */
  readonly handlers: readonly MessageHandler<Module>[];
  /** Messages handled at once, never two with the same partition key (default 1). */
  readonly concurrency?: number;
  readonly retry?: Partial<RetryPolicy>;
  /**
   * The types routed to the consumer (default: every type its handlers take). For a consumer that
   * needs fewer of the types it could take: the others cost no delivery. A list is known
   * everywhere, so any process provisions the consumer's queues with it. A function of the running
   * module (webhooks: the types its subscriptions name) is read at start, after the module's start
   * hook; provisioning from another process routes none of them, and the running module routes
   * more with `ModuleContext.routeTypes` before it commits what needs them.
   */
  readonly typesAtStart?:
    | readonly string[]
    | ((module: Module) => readonly string[] | Promise<readonly string[]>);
}

/** The message definitions a subscription takes, each once. */
export function messagesOf<Module>(subscription: Subscription<Module>): readonly AnyMessageDefinition[] {
  return [...new Set(subscription.handlers.flatMap((handler) => handler.messages))];
}

/**
 * The handler a delivery goes to: the one its type was paired with. Throws at subscription when
 * two handlers name the same type (which one runs would be an accident of order).
 */
export function dispatcherOf<Module>(subscription: Subscription<Module>): Handler<Module> {
  const byType = new Map<string, Handler<Module>>();
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
