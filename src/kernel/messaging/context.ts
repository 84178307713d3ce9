import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** The causal context of the work in progress: an HTTP request, or the message being handled. */
export interface CausalContext {
  readonly correlationId: string;
  /** Id of the message that caused this work; null at the root (an HTTP request). */
  readonly causationId: string | null;
  readonly traceparent?: string;
}

const storage = new AsyncLocalStorage<CausalContext>();

/** Runs fn with ctx as the current causal context (log lines and staged messages pick it up). */
export function runInContext<T>(ctx: CausalContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

export function currentContext(): CausalContext | undefined {
  return storage.getStore();
}

/** The current context, or a new root one when nothing is in scope (a script, a timer). */
export function currentOrNewContext(): CausalContext {
  return storage.getStore() ?? { correlationId: randomUUID(), causationId: null };
}
