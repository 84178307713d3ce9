import { runInContext } from '../context.js';
import { contextOf } from '../envelope.js';
import type { Middleware } from './pipeline.js';

/**
 * Runs the steps after it in the message's causal context (correlation id, the message as cause,
 * traceparent): their log lines carry it and the messages the handler stages inherit it.
 */
export const inCausalContext: Middleware = (next) => (delivery) =>
  runInContext(contextOf(delivery.envelope), () => next(delivery));
