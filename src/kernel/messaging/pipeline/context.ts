import { ROOT_CONTEXT, type Span } from '@opentelemetry/api';
import {
  contextWithSpan,
  DELIVERY_ATTRIBUTES,
  ProcessSpans,
  recordFailure,
} from '../../observability/tracing.js';
import { type CausalContext, runInContext } from '../context.js';
import { contextOf } from '../envelope.js';
import type { DeliveryOutcome } from '../transport.js';
import type { Middleware } from './pipeline.js';
import type { ConsumerScope } from './scope.js';

/**
 * Runs the steps after it in the message's causal context (correlation id, the message as cause)
 * and in a `process <type>` span (OpenTelemetry messaging conventions), child of the span the
 * message was staged in (its `traceparent`): their log lines carry the span's ids, and the
 * messages the handler stages carry the span as their parent, so a flow's handlers nest causally
 * in one trace. The span ends with the delivery's outcome, or failed with the error a later step
 * threw (the retry step before this one decides what becomes of it).
 *
 * Without an SDK the span is the API's no-op one: nothing else is allocated, and a `traceparent`
 * received is passed on as it was.
 */
export function inCausalContext(scope: Pick<ConsumerScope, 'name' | 'transport'>): Middleware {
  const spans = new ProcessSpans(scope.name, scope.transport);
  return (next) => (delivery) => {
    const envelope = delivery.envelope;
    const received = contextOf(envelope);
    const span = spans.start(envelope, delivery.attempt, received.trace);
    if (!span.isRecording()) return runInContext(received, () => next(delivery));
    const causal: CausalContext = {
      correlationId: received.correlationId,
      causationId: received.causationId,
      trace: contextWithSpan(received.trace, span) ?? ROOT_CONTEXT,
    };
    return inSpan(span, causal, () => next(delivery));
  };
}

/** Runs fn in `causal`, then ends `span` with fn's outcome, or failed when fn throws or rejects. */
async function inSpan(
  span: Span,
  causal: CausalContext,
  fn: () => Promise<DeliveryOutcome>,
): Promise<DeliveryOutcome> {
  try {
    const outcome = await runInContext(causal, fn);
    span.setAttribute(DELIVERY_ATTRIBUTES.outcome, outcome.kind);
    return outcome;
  } catch (error) {
    recordFailure(span, error);
    throw error;
  } finally {
    span.end();
  }
}
