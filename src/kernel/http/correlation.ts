import { randomUUID } from 'node:crypto';
import { ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { FastifyRequest } from 'fastify';
import { type CausalContext, runInContext } from '../messaging/context.js';
import type { HttpApp } from '../modules/module.js';
import { contextWithSpan, kernelTracer, traceContextOfHeaders } from '../observability/tracing.js';

export const CORRELATION_HEADER = 'x-correlation-id';
const ACCEPTABLE_ID = /^[\w.:-]{1,128}$/;

/** The request id: the caller's `x-correlation-id` when it is a sane token, else a new UUID. */
export function correlationIdOf(request: { headers: Record<string, string | string[] | undefined> }): string {
  const given = request.headers[CORRELATION_HEADER];
  return typeof given === 'string' && ACCEPTABLE_ID.test(given) ? given : randomUUID();
}

/** What a request runs in, from its onRequest hook to its response. */
interface RequestWork {
  readonly causal: CausalContext;
  readonly span: Span;
}

/** The request's correlation id on its span: a trace found from the `x-correlation-id` a client got. */
export const CORRELATION_ATTRIBUTE = 'modulith.correlation_id';

const SERVER = Object.freeze({ kind: SpanKind.SERVER });

/**
 * Makes the request's correlation id, and its span, the causal context of everything the request
 * does: the messages its handler stages carry both (`correlationid`, `traceparent`), and every log
 * line carries them. The span (`<method> <route>`, kind server, HTTP semantic conventions)
 * continues the caller's W3C `traceparent` when one is sent, else starts a trace; it ends with the
 * response. Echoes the correlation id in the response.
 */
export function registerCorrelation(app: HttpApp): void {
  const work = new WeakMap<FastifyRequest, RequestWork>();
  app.addHook('onRequest', (request, _reply, done) => {
    const received = traceContextOfHeaders(request.headers);
    const route = request.routeOptions.url;
    const span = kernelTracer.startSpan(
      route === undefined ? request.method : `${request.method} ${route}`,
      SERVER,
      received ?? ROOT_CONTEXT,
    );
    if (span.isRecording()) {
      span.setAttributes({
        'http.request.method': request.method,
        'url.path': request.url.split('?', 1)[0] ?? request.url,
        ...(route === undefined ? {} : { 'http.route': route }),
        [CORRELATION_ATTRIBUTE]: request.id,
      });
    }
    const trace = contextWithSpan(received, span);
    const causal: CausalContext = {
      correlationId: request.id,
      causationId: null,
      ...(trace ? { trace } : {}),
    };
    work.set(request, { causal, span });
    runInContext(causal, done);
  });
  // Body parsing leaves the context of onRequest; enter it again right before the handler.
  app.addHook('preHandler', (request, _reply, done) => {
    const entered = work.get(request);
    runInContext(entered?.causal ?? { correlationId: request.id, causationId: null }, done);
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header(CORRELATION_HEADER, request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const span = work.get(request)?.span;
    if (!span?.isRecording()) return;
    span.setAttribute('http.response.status_code', reply.statusCode);
    if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  app.addHook('onRequestAbort', async (request) => {
    const span = work.get(request)?.span;
    if (!span?.isRecording()) return;
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client closed the connection' });
    span.end();
  });
}
