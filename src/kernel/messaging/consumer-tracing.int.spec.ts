/**
 * A consumer's `process` spans, with an SDK registered (spans kept in memory): one per delivery
 * attempt, child of the message's `traceparent`; a failed attempt ends failed with its
 * exception, the retry that succeeds ends `handled`, a redelivery after it `duplicate`.
 */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryTransport } from './transports/memory/memory.js';
import { FAST_RETRY, fails, rawEnvelope } from './transports/testing/conformance/fixtures.js';
import { Harness } from './transports/testing/conformance/harness.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

beforeAll(() => {
  trace.setGlobalTracerProvider(provider);
});
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
});

describe('consumer: a process span per delivery attempt', () => {
  let h: Harness;
  beforeEach(() => {
    h = new Harness(createMemoryTransport);
    exporter.reset();
  });
  afterEach(() => h.dispose());

  it('ends a failed attempt failed and its retry handled, both children of the traceparent', async () => {
    const message = JSON.parse(rawEnvelope('source.thing-happened', { key: 'k', n: 1 }, 1, 'k'));
    const raw = JSON.stringify({ ...message, traceparent: `00-${TRACE}-${PARENT}-01` });
    h.behaviour.alpha = (_m, ctx) => {
      if (ctx.attempt === 1) fails('first attempt fails');
    };
    await h.start({ consumers: ['alpha'], retry: FAST_RETRY });
    const endpoint = h.endpoint('alpha');
    expect(await endpoint.deliver(raw, 1)).toMatchObject({ kind: 'retry' });
    expect(await endpoint.deliver(raw, 2)).toEqual({ kind: 'handled' });
    expect(await endpoint.deliver(raw, 3)).toEqual({ kind: 'duplicate' });

    const spans = exporter.getFinishedSpans().filter((span) => span.name === 'process source.thing-happened');
    expect(spans.map((span) => span.attributes['modulith.delivery.attempt'])).toEqual([1, 2, 3]);
    for (const span of spans) {
      expect(span.kind).toBe(SpanKind.CONSUMER);
      expect(span.spanContext().traceId).toBe(TRACE);
      expect(span.parentSpanContext?.spanId).toBe(PARENT);
      expect(span.attributes).toMatchObject({
        'messaging.system': 'memory',
        'messaging.operation.type': 'process',
        'messaging.destination.name': 'source.thing-happened',
        'messaging.message.id': message.id,
        'messaging.message.conversation_id': message.correlationid,
        'messaging.consumer.group.name': endpoint.name,
      });
    }
    const [failed, handled, duplicate] = spans;
    expect(failed?.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'first attempt fails' });
    expect(failed?.events.map((event) => event.name)).toEqual(['exception']);
    expect(failed?.attributes).not.toHaveProperty('modulith.delivery.outcome');
    expect(handled?.status.code).toBe(SpanStatusCode.UNSET);
    expect(handled?.attributes['modulith.delivery.outcome']).toBe('handled');
    expect(duplicate?.attributes['modulith.delivery.outcome']).toBe('duplicate');
  });

  it('starts a trace for a message without traceparent', async () => {
    await h.start({ consumers: ['alpha'] });
    const raw = rawEnvelope('source.thing-happened', { key: 'k', n: 2 }, 1, 'k');
    expect(await h.endpoint('alpha').deliver(raw, 1)).toEqual({ kind: 'handled' });
    const [span] = exporter.getFinishedSpans().filter((s) => s.name === 'process source.thing-happened');
    expect(span?.parentSpanContext).toBeUndefined();
    expect(span?.spanContext().traceId).toMatch(/^(?!0{32})[0-9a-f]{32}$/); // a new, valid trace
  });
});
