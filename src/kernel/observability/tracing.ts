/**
 * The kernel's spans, through `@opentelemetry/api` only: a no-op until an SDK registers a tracer
 * provider (observability/tracing-sdk.ts does when OTEL_EXPORTER_OTLP_ENDPOINT is set; a spec or
 * an embedding application may register its own). The trace context travels with the causal
 * context (messaging/context.ts): the HTTP request's span, or the handler's, is what the messages
 * staged meanwhile carry in their envelope's `traceparent`.
 */
import {
  type Attributes,
  type Context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { currentContext } from '../messaging/context.js';
import { packageInfo } from '../package-info.js';

/**
 * The messaging attributes of the semantic conventions (still "development" there, so copied as
 * the conventions package advises rather than imported from its unstable entry point).
 */
export const MESSAGING_ATTRIBUTES = {
  system: 'messaging.system',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  destinationName: 'messaging.destination.name',
  messageId: 'messaging.message.id',
  conversationId: 'messaging.message.conversation_id',
  consumerGroupName: 'messaging.consumer.group.name',
} as const;

/** The kernel's own attributes on a handler's span. */
export const DELIVERY_ATTRIBUTES = {
  /** 1 for the first delivery, 2 for the first retry, … */
  attempt: 'modulith.delivery.attempt',
  /**
   * `handled` or `duplicate`. A delivery that throws (then retried, dead-lettered, held or paused
   * by the retry step, outside the span) ends its span with status error and the exception instead.
   */
  outcome: 'modulith.delivery.outcome',
} as const;

/**
 * The kernel's tracer. A proxy: spans started before an SDK registers are no-ops, those started
 * after go to the registered provider, which the proxy then keeps (one SDK per process: a provider
 * registered after another was disabled is not picked up).
 */
export const kernelTracer = trace.getTracer(packageInfo.name, packageInfo.version);

/**
 * The envelope's `traceparent` and the HTTP header are W3C trace context whatever propagator the
 * application registers globally: the format is part of the message contract.
 */
const w3c = new W3CTraceContextPropagator();

/**
 * The trace context a W3C `traceparent` names (a remote parent), or undefined when there is none
 * or it does not parse. Without an SDK it is still carried on unchanged: a handler's messages keep
 * the caller's trace.
 */
export function traceContextOf(traceparent: string | undefined): Context | undefined {
  if (traceparent === undefined) return undefined;
  const extracted = w3c.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter);
  return trace.getSpanContext(extracted) ? extracted : undefined;
}

/** The trace context of incoming HTTP headers (`traceparent`, `tracestate`), or undefined. */
export function traceContextOfHeaders(
  headers: Record<string, string | string[] | undefined>,
): Context | undefined {
  if (headers.traceparent === undefined) return undefined;
  const extracted = w3c.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
  return trace.getSpanContext(extracted) ? extracted : undefined;
}

/** The W3C `traceparent` of the span active in `context`, or undefined when it has no valid one. */
export function traceparentOf(context: Context | undefined): string | undefined {
  if (context === undefined) return undefined;
  const carrier: { traceparent?: string } = {};
  w3c.inject(context, carrier, defaultTextMapSetter);
  return carrier.traceparent;
}

/** `trace_id` and `span_id` of the span active in `context`, for a log line; undefined without a valid one. */
export function logFieldsOf(context: Context | undefined): { trace_id: string; span_id: string } | undefined {
  if (context === undefined) return undefined;
  const span = trace.getSpanContext(context);
  if (span === undefined || !trace.isSpanContextValid(span)) return undefined;
  return { trace_id: span.traceId, span_id: span.spanId };
}

/**
 * The context a unit of work runs in once `span` started under `parent`: the span itself when it
 * records (its children and the messages staged in it name it as parent), else the parent as it
 * was, so that without an SDK nothing is allocated and a received trace is still passed on.
 */
export function contextWithSpan(parent: Context | undefined, span: Span): Context | undefined {
  return span.isRecording() ? trace.setSpan(parent ?? ROOT_CONTEXT, span) : parent;
}

/** Marks `span` failed with `error` (its type and message), for a unit of work that threw. */
export function recordFailure(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  if (error instanceof Error) span.recordException(error);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
  span.setAttribute('error.type', error instanceof Error ? error.name : 'Error');
}

const PRODUCER: SpanOptions = Object.freeze({ kind: SpanKind.PRODUCER });
const CONSUMER: SpanOptions = Object.freeze({ kind: SpanKind.CONSUMER });

/**
 * Span names of the messaging conventions, `<operation> <destination>`, built once per message
 * type (a consumer handles a fixed set of types): no string is built per message.
 */
class SpanNames {
  readonly #names = new Map<string, string>();
  constructor(readonly operation: string) {}
  of(destination: string): string {
    let name = this.#names.get(destination);
    if (name === undefined) {
      name = `${this.operation} ${destination}`;
      this.#names.set(destination, name);
    }
    return name;
  }
}
const sendNames = new SpanNames('send');

/** What a messaging span is about: the message's type is its destination (the bus routes by type). */
export interface MessageOnTheBus {
  readonly id: string;
  readonly type: string;
  readonly correlationid: string;
}

/**
 * A `send` span (kind producer) for one message the outbox relay publishes, child of the context
 * it was staged in (`parent`, from its `traceparent`). Attributes are set only on a span that
 * records.
 */
export function startSendSpan(message: MessageOnTheBus, system: string, parent: Context | undefined): Span {
  const span = kernelTracer.startSpan(sendNames.of(message.type), PRODUCER, parent ?? ROOT_CONTEXT);
  if (span.isRecording()) {
    span.setAttributes({
      [MESSAGING_ATTRIBUTES.system]: system,
      [MESSAGING_ATTRIBUTES.operationType]: 'send',
      [MESSAGING_ATTRIBUTES.operationName]: 'publish',
      [MESSAGING_ATTRIBUTES.destinationName]: message.type,
      [MESSAGING_ATTRIBUTES.messageId]: message.id,
      [MESSAGING_ATTRIBUTES.conversationId]: message.correlationid,
    } satisfies Attributes);
  }
  return span;
}

/** Starts `process <type>` spans (kind consumer) for one consumer. */
export class ProcessSpans {
  readonly #names = new SpanNames('process');

  constructor(
    readonly consumer: string,
    readonly system: string,
  ) {}

  /**
   * A `process` span for one delivery of `message`, child of the context it was staged in
   * (`parent`, from its `traceparent`). Attributes are set only on a span that records.
   */
  start(message: MessageOnTheBus, attempt: number, parent: Context | undefined): Span {
    const span = kernelTracer.startSpan(this.#names.of(message.type), CONSUMER, parent ?? ROOT_CONTEXT);
    if (span.isRecording()) {
      span.setAttributes({
        [MESSAGING_ATTRIBUTES.system]: this.system,
        [MESSAGING_ATTRIBUTES.operationType]: 'process',
        [MESSAGING_ATTRIBUTES.operationName]: 'process',
        [MESSAGING_ATTRIBUTES.destinationName]: message.type,
        [MESSAGING_ATTRIBUTES.messageId]: message.id,
        [MESSAGING_ATTRIBUTES.conversationId]: message.correlationid,
        [MESSAGING_ATTRIBUTES.consumerGroupName]: this.consumer,
        [DELIVERY_ATTRIBUTES.attempt]: attempt,
      } satisfies Attributes);
    }
    return span;
  }
}

/**
 * The W3C `traceparent` of the work in progress (the HTTP request's span, the handler's), for a
 * call that carries it on to another process (the gateway's proxied requests); undefined without one.
 */
export function currentTraceparent(): string | undefined {
  return traceparentOf(currentContext()?.trace);
}
