import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { type Context, context as otelContext } from '@opentelemetry/api';

/** The causal context of the work in progress: an HTTP request, or the message being handled. */
export interface CausalContext {
  readonly correlationId: string;
  /** Id of the message that caused this work; null at the root (an HTTP request). */
  readonly causationId: string | null;
  /**
   * The OpenTelemetry context of the work: the request's or the handler's span when an SDK records
   * them, else the trace received with the work (an incoming `traceparent`), else undefined. The
   * messages staged in this context carry its span as their `traceparent`; log lines its ids.
   */
  readonly trace?: Context;
}

const storage = new AsyncLocalStorage<CausalContext>();

/**
 * Runs fn with ctx as the current causal context (log lines and staged messages pick it up). Its
 * trace context is also made OpenTelemetry's active context, so that spans a handler or a library
 * starts itself nest under the kernel's (a no-op until an SDK registers a context manager).
 */
export function runInContext<T>(ctx: CausalContext, fn: () => T): T {
  const traceContext = ctx.trace;
  if (traceContext === undefined) return storage.run(ctx, fn);
  return storage.run(ctx, () => otelContext.with(traceContext, fn));
}

export function currentContext(): CausalContext | undefined {
  return storage.getStore();
}

/** The current context, or a new root one when nothing is in scope (a script, a timer). */
export function currentOrNewContext(): CausalContext {
  return storage.getStore() ?? { correlationId: randomUUID(), causationId: null };
}
