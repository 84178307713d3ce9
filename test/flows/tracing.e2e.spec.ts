/**
 * Tracing, end to end in one process (memory transport), with the OpenTelemetry Node SDK
 * registered as an application would, its spans kept in memory: one `POST /orders` is one trace
 * holding every handler of the checkout, each the child of the span whose work staged its
 * message; a caller's `traceparent` is continued; a handler's log lines carry its span's ids.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moduleCatalogue } from '../../src/app.js';
import { createHost } from '../../src/kernel/host/create-host.js';
import { type HttpApp, loadConfig } from '../../src/kernel/index.js';
import { createLogger } from '../../src/kernel/observability/logger.js';
import { eventually } from '../../src/kernel/testing/index.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const logLines: Record<string, unknown>[] = [];
const logStream = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString('utf8').split('\n')) if (line) logLines.push(JSON.parse(line));
    done();
  },
});

let app: HttpApp;
let dataDir: string;

const bearer = (sub: string) => ({
  authorization: `Bearer ${app.jwt.sign({ sub, role: sub === 'admin' ? 'admin' : 'user' })}`,
});

async function placeConfirmedOrder(sub: string, headers: Record<string, string> = {}): Promise<string> {
  await app.inject({
    method: 'POST',
    url: '/payments/deposits',
    payload: { amountCents: 10_000 },
    headers: bearer(sub),
  });
  const response = await app.inject({
    method: 'POST',
    url: '/orders',
    payload: { items: [{ sku: 'MUG', quantity: 1 }] },
    headers: { ...bearer(sub), ...headers },
  });
  expect(response.statusCode).toBe(202);
  const { id } = response.json() as { id: string };
  await eventually(
    async () => {
      const order = (await app.inject({ url: `/orders/${id}`, headers: bearer(sub) })).json();
      expect(order.status).toBe('confirmed');
    },
    { timeoutMs: 10_000 },
  );
  return id;
}

const ended = () => exporter.getFinishedSpans();
const spanId = (span: ReadableSpan) => span.spanContext().spanId;
const traceId = (span: ReadableSpan) => span.spanContext().traceId;
const parentId = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const startNs = (span: ReadableSpan) => span.startTime[0] * 1e9 + span.startTime[1];

/** The server span of the request that answered with this correlation id. */
function requestSpan(correlationId: string): ReadableSpan {
  const found = ended().filter(
    (span) => span.kind === SpanKind.SERVER && span.attributes['modulith.correlation_id'] === correlationId,
  );
  expect(found).toHaveLength(1);
  return found[0] as ReadableSpan;
}

/** The one `process <type>` span of the trace for `type`, by the consumer `group`. */
function processSpan(spans: readonly ReadableSpan[], type: string, group: string): ReadableSpan {
  const found = spans.filter(
    (span) => span.name === `process ${type}` && span.attributes['messaging.consumer.group.name'] === group,
  );
  const seen = spans.map((span) => `${span.name} by ${span.attributes['messaging.consumer.group.name']}`);
  expect(found, `process ${type} by ${group} among: ${seen.join('; ')}`).toHaveLength(1);
  return found[0] as ReadableSpan;
}

/** The spans from `span` up to the root of its trace, following parent ids. */
function ancestry(span: ReadableSpan, spans: readonly ReadableSpan[]): ReadableSpan[] {
  const byId = new Map(spans.map((s) => [spanId(s), s]));
  const chain = [span];
  for (let next = byId.get(parentId(span) ?? ''); next; next = byId.get(parentId(next) ?? ''))
    chain.push(next);
  return chain;
}

/** The spans of a trace, waiting for `expected` names to have ended (the last handlers end after the order is terminal). */
async function traceOf(id: string, expected: readonly string[]): Promise<ReadableSpan[]> {
  return eventually(() => {
    const spans = ended().filter((span) => traceId(span) === id);
    expect(spans.map((span) => span.name)).toEqual(expect.arrayContaining([...expected]));
    return spans;
  });
}

/** The checkout's handlers, in causal order: each one's message was staged by the one before. */
const CHECKOUT_CHAIN = [
  { type: 'orders.order-placed', group: 'orders.checkout-saga' },
  { type: 'payments.charge-payment', group: 'payments.account-commands' },
  { type: 'payments.payment-completed', group: 'orders.checkout-saga' },
  { type: 'inventory.reserve-stock', group: 'inventory.reservations' },
  { type: 'inventory.stock-reserved', group: 'orders.checkout-saga' },
  { type: 'orders.order-confirmed', group: 'notifications.outcomes' },
] as const;

beforeAll(async () => {
  provider.register();
  dataDir = mkdtempSync(join(tmpdir(), 'tracing-e2e-'));
  const modules = 'orders,payments,inventory,notifications';
  const names = moduleCatalogue.map((m) => m.name);
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'info', MODULES: modules }, names);
  app = await createHost(config, {
    catalogue: moduleCatalogue,
    log: createLogger('info', { destination: logStream }),
  });
  const product = { sku: 'MUG', name: 'Mug', priceCents: 250, stock: 1000 };
  await app.inject({
    method: 'POST',
    url: '/inventory/products',
    payload: product,
    headers: bearer('admin'),
  });
  await eventually(async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/orders',
      payload: { items: [{ sku: 'MUG', quantity: 1 }] },
      headers: bearer('probe'),
    });
    expect(response.statusCode).toBe(202); // the orders module knows the product (its catalogue copy)
  });
});

afterAll(async () => {
  await app?.close();
  rmSync(dataDir, { recursive: true, force: true });
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

describe('tracing of a checkout in one process', () => {
  it('makes one trace of a POST /orders, every handler the child of the one whose work staged its message', async () => {
    await placeConfirmedOrder('ann', { 'x-correlation-id': 'trace-ann' });
    const request = requestSpan('trace-ann');
    expect(request.name).toBe('POST /orders');
    expect(request.parentSpanContext).toBeUndefined(); // no traceparent came: the trace starts here
    expect(request.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/orders' });
    expect(request.attributes['http.response.status_code']).toBe(202);

    const spans = await traceOf(
      traceId(request),
      CHECKOUT_CHAIN.map(({ type }) => `process ${type}`),
    );
    const chain = CHECKOUT_CHAIN.map(({ type, group }) => processSpan(spans, type, group));
    // each handler's parent is the handler before it; the first one's is the request
    expect(chain.map(parentId)).toEqual([spanId(request), ...chain.slice(0, -1).map(spanId)]);
    for (const span of chain) expect(ancestry(span, spans).at(-1)).toBe(request);
    // and they ran in that order
    const starts = [request, ...chain].map(startNs);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));

    const [placed] = chain;
    expect(placed?.kind).toBe(SpanKind.CONSUMER);
    expect(placed?.attributes).toMatchObject({
      'messaging.system': 'memory',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'orders.order-placed',
      'messaging.consumer.group.name': 'orders.checkout-saga',
      'messaging.message.conversation_id': 'trace-ann',
      'modulith.delivery.outcome': 'handled',
    });
    expect(placed?.attributes['messaging.message.id']).toEqual(expect.any(String));

    // the relay's publish of each message: a producer span, child of the span that staged it
    const charge = spans.filter((span) => span.name === 'send payments.charge-payment');
    expect(charge).toHaveLength(1);
    expect(charge[0]?.kind).toBe(SpanKind.PRODUCER);
    expect(parentId(charge[0] as ReadableSpan)).toBe(spanId(placed as ReadableSpan));
    expect(charge[0]?.attributes).toMatchObject({
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'payments.charge-payment',
      'messaging.message.id': chain[1]?.attributes['messaging.message.id'],
    });
  });

  it("continues a caller's traceparent: the request and every handler in the caller's trace", async () => {
    const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    await placeConfirmedOrder('bob', {
      'x-correlation-id': 'trace-bob',
      traceparent: `00-${callerTrace}-${callerSpan}-01`,
    });
    const request = requestSpan('trace-bob');
    expect(traceId(request)).toBe(callerTrace);
    expect(parentId(request)).toBe(callerSpan);
    const spans = await traceOf(
      callerTrace,
      CHECKOUT_CHAIN.map(({ type }) => `process ${type}`),
    );
    for (const { type, group } of CHECKOUT_CHAIN) {
      expect(ancestry(processSpan(spans, type, group), spans).at(-1)).toBe(request);
    }
  });

  it("writes a handler's log lines with its span's trace_id and span_id", async () => {
    await placeConfirmedOrder('cat', { 'x-correlation-id': 'trace-cat' });
    const request = requestSpan('trace-cat');
    const spans = await traceOf(traceId(request), ['process orders.order-confirmed']);
    const notifying = processSpan(spans, 'orders.order-confirmed', 'notifications.outcomes');
    const sent = await eventually(() => {
      const lines = logLines.filter(
        (line) => line.msg === 'notification sent' && line.correlationid === 'trace-cat',
      );
      expect(lines).toHaveLength(1);
      return lines[0];
    });
    expect(sent).toMatchObject({ trace_id: traceId(request), span_id: spanId(notifying) });
  });
});
