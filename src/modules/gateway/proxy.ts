import type { IncomingHttpHeaders } from 'node:http';
import replyFrom from '@fastify/reply-from';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { currentTraceparent, type HttpApp } from '../../kernel/index.js';

/**
 * Forwarding one request to one instance with @fastify/reply-from over undici: the answer streams
 * to the client as it arrives (never held whole in memory). Which instance, and whether to try
 * another one after a failure, is the caller's choice (routes.ts): reply-from only sends.
 */

/**
 * Headers of one connection, not of the message: never forwarded, either way (RFC 9110 section
 * 7.6.1). `expect` too: the gateway has read the body already (and undici refuses it).
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

/**
 * Why a forward failed, before any byte of the answer reached the client. `unreached`: the request
 * never got to the instance (connection refused or not made): any method may go to another one.
 * `broken`: the connection failed after the request was sent: the instance may have acted on it.
 */
export interface UpstreamFailure {
  readonly kind: 'unreached' | 'broken' | 'timeout';
  readonly message: string;
}

/** How one try went: the answer is streaming to the client, the client left, or the try failed. */
export type Attempt = 'streaming' | 'client-gone' | UpstreamFailure;

/** Errors of the connect phase: no byte of the request was sent. */
const UNREACHED_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT']);

/**
 * Makes `reply.from` available to the gateway's routes. `timeoutMs` bounds connecting, waiting for
 * the answer's headers, and each wait between two chunks of its body (undici measures the last one
 * only while the client keeps up, so a slow reader is not cut off).
 */
export async function registerForwarding(app: HttpApp, timeoutMs: number): Promise<void> {
  await app.register(replyFrom, {
    undici: {
      connections: 128, // per instance, as many sockets as the former forwarder's agent kept
      pipelining: 1,
      connectTimeout: timeoutMs,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    },
    // No retry inside reply-from: it would re-send to the same instance (a GET answered 503, too).
    // The gateway tries another instance itself, and only when that is safe.
    retryMethods: [],
    disableRequestLogging: true, // the gateway logs the failures it acts on
    destroyAgent: true, // close the kept-alive sockets with the app
  });
}

/** Every header but the hop-by-hop ones and those the `connection` header names. */
function withoutHopByHop(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const named = String(headers.connection ?? '')
    .split(',')
    .map((token) => token.trim().toLowerCase());
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !named.includes(name)) out[name] = value;
  }
  return out;
}

/**
 * The request's headers as the instance gets them: the client's end-to-end headers (authorization,
 * idempotency key…), the correlation id this request runs under, the trace it is part of (the
 * gateway's request span when traced, else the client's `traceparent` as it came), and where it
 * came from.
 */
function forwardedHeaders(
  request: FastifyRequest,
  headers: IncomingHttpHeaders,
  traceparent: string | undefined,
): IncomingHttpHeaders {
  const out = withoutHopByHop(headers);
  if (traceparent !== undefined) out.traceparent = traceparent;
  const previous = request.headers['x-forwarded-for'];
  out['x-forwarded-for'] =
    typeof previous === 'string' && previous ? `${previous}, ${request.ip}` : request.ip;
  out['x-forwarded-proto'] = request.protocol;
  out['x-forwarded-host'] = request.headers.host ?? '';
  out['x-correlation-id'] = request.id;
  return out;
}

/**
 * The body to send on, as fastify read it (1 MiB at most, the edge's limit): kept whole so that a
 * refused connection can take the same bytes to another instance.
 */
function bodyOf(request: FastifyRequest): Buffer | undefined {
  if (request.method === 'GET' || request.method === 'HEAD') return undefined;
  return Buffer.isBuffer(request.body) && request.body.length > 0 ? request.body : undefined;
}

/** The `code` of an error, of its cause and of each error an AggregateError (happy eyeballs) holds. */
function codesOf(error: unknown): string[] {
  if (!(error instanceof Error)) return [];
  const own = 'code' in error && typeof error.code === 'string' ? [error.code] : [];
  const inner = error instanceof AggregateError ? error.errors.flatMap(codesOf) : [];
  return [...own, ...inner, ...codesOf(error.cause)];
}

/** Reads reply-from's error (its own, wrapping undici's as `cause`) as a failure of the gateway's kinds. */
function failureOf(error: Error): UpstreamFailure {
  const cause = error.cause instanceof Error ? error.cause : error;
  const codes = codesOf(cause);
  const message = `${codes[0] ?? 'error'}: ${cause.message}`;
  if (codes.some((code) => TIMEOUT_CODES.has(code))) return { kind: 'timeout', message };
  if (codes.length > 0 && codes.every((code) => UNREACHED_CODES.has(code))) {
    return { kind: 'unreached', message };
  }
  return { kind: 'broken', message };
}

/**
 * Sends the request to the instance at `baseUrl`. Settles once the answer's headers are in (it is
 * then streaming to the client: nothing else may be sent), once the try failed (nothing has been
 * sent: the caller answers or tries elsewhere), or once the client has left.
 */
export function forward(request: FastifyRequest, reply: FastifyReply, baseUrl: string): Promise<Attempt> {
  return new Promise<Attempt>((resolve) => {
    let settled = false;
    const settle = (attempt: Attempt): void => {
      if (settled) return;
      settled = true;
      reply.raw.off('close', clientGone);
      resolve(attempt);
    };
    // reply-from never calls back for a client that left before the answer came: do not wait for it
    const clientGone = (): void => settle('client-gone');
    if (reply.raw.destroyed) return clientGone();
    reply.raw.once('close', clientGone);
    const body = bodyOf(request);
    const traceparent = currentTraceparent(); // the request's context, which reply-from's callbacks may not run in
    reply.from(`${baseUrl.replace(/\/+$/, '')}${request.raw.url ?? '/'}`, {
      ...(body ? { body, contentType: request.headers['content-type'] ?? 'application/octet-stream' } : {}),
      rewriteRequestHeaders: (_request, headers) => forwardedHeaders(request, headers, traceparent),
      rewriteHeaders: (headers) => withoutHopByHop(headers),
      onResponse: (_request, _reply, response) => {
        if (settled) {
          response.stream.destroy(); // the try was given up (client gone): nobody reads this answer
          return;
        }
        settle('streaming');
        reply.send(response.stream);
      },
      onError: (_reply, { error }) => settle(failureOf(error)),
    });
  });
}
