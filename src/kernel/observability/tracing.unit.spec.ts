/**
 * The envelope's `traceparent` without an SDK registered (the default: no
 * OTEL_EXPORTER_OTLP_ENDPOINT): a trace received is carried on unchanged to the messages a
 * handler stages, one that does not parse is dropped, and none is made up.
 */
import { describe, expect, it } from 'vitest';
import { currentContext, runInContext } from '../messaging/context.js';
import { contextOf, createEnvelope, type Envelope } from '../messaging/envelope.js';
import { logFieldsOf, traceContextOf, traceparentOf } from './tracing.js';

const RECEIVED = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const draft = { type: 'notes.note-filed', schemaversion: 1, partitionkey: 'k', data: {} };

const received = (traceparent?: string): Envelope =>
  createEnvelope(draft, 'notes', {
    correlationId: 'c-1',
    causationId: null,
    ...(traceparent ? { trace: traceContextOf(traceparent) } : {}),
  });

describe('traceparent without an SDK', () => {
  it('carries a received traceparent on to the messages staged while handling it', () => {
    const message = received(RECEIVED);
    expect(message.traceparent).toBe(RECEIVED);
    const next = runInContext(contextOf(message), () => {
      const ctx = currentContext();
      if (!ctx) throw new Error('no causal context');
      return createEnvelope(draft, 'notes', ctx);
    });
    expect(next).toMatchObject({ traceparent: RECEIVED, correlationid: 'c-1', causationid: message.id });
  });

  it("gives log lines the received trace's ids", () => {
    expect(logFieldsOf(traceContextOf(RECEIVED))).toEqual({
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
    });
  });

  it('drops a traceparent that does not parse or names no trace, and makes none up', () => {
    for (const bad of [
      'garbage',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01', // all-zero trace id: invalid
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', // all-zero span id: invalid
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', // upper case: not W3C
    ]) {
      expect(traceContextOf(bad), bad).toBeUndefined();
      expect(contextOf({ ...received(), traceparent: bad }).trace, bad).toBeUndefined();
    }
    expect(received().traceparent).toBeUndefined();
    expect('traceparent' in received()).toBe(false);
    expect(traceparentOf(undefined)).toBeUndefined();
  });
});
