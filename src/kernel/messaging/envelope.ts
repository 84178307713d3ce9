import { randomUUID } from 'node:crypto';
import { traceContextOf, traceparentOf } from '../observability/tracing.js';
import type { CausalContext } from './context.js';

/**
 * The message envelope: CloudEvents 1.0 attribute names, structured JSON on every transport.
 * `id` is assigned once, when the message is staged in the outbox, and never changes across
 * redeliveries; inboxes key on (consumer, id).
 */
export interface Envelope<T = unknown, Type extends string = string> {
  readonly specversion: '1.0';
  readonly id: string;
  /** Publishing module. */
  readonly source: string;
  /** `<module>.<kebab-case>`: events past tense, commands imperative. */
  readonly type: Type;
  readonly time: string;
  readonly datacontenttype: 'application/json';
  readonly schemaversion: number;
  readonly correlationid: string;
  readonly causationid: string | null;
  /** Messages with the same key are handled in publish order by each consumer. */
  readonly partitionkey: string;
  /**
   * W3C trace context of the work that staged the message (the HTTP request's span, or the span of
   * the handler of the message that caused it): its handlers' spans are children of that span.
   * Absent when no trace was known (no SDK registered and none received).
   */
  readonly traceparent?: string;
  readonly data: T;
}

/** A message before it is staged: what a creator such as `orderPlaced({...})` returns. */
export interface MessageDraft<T = unknown, Type extends string = string> {
  readonly type: Type;
  readonly schemaversion: number;
  readonly partitionkey: string;
  readonly data: T;
}

export function createEnvelope<T, Type extends string>(
  draft: MessageDraft<T, Type>,
  source: string,
  ctx: CausalContext,
): Envelope<T, Type> {
  const traceparent = traceparentOf(ctx.trace);
  return {
    specversion: '1.0',
    id: randomUUID(),
    source,
    type: draft.type,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    schemaversion: draft.schemaversion,
    correlationid: ctx.correlationId,
    causationid: ctx.causationId,
    partitionkey: draft.partitionkey,
    ...(traceparent ? { traceparent } : {}),
    data: draft.data,
  };
}

/**
 * The causal context a handler of `message` runs in, before its own span: the message's
 * correlation id, the message as cause, and the trace it was staged in (its `traceparent`).
 */
export function contextOf(message: Envelope): CausalContext {
  const trace = traceContextOf(message.traceparent);
  return trace
    ? { correlationId: message.correlationid, causationId: message.id, trace }
    : { correlationId: message.correlationid, causationId: message.id };
}
