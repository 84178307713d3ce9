import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { FastifyRequest } from 'fastify';

/** Headers of one connection, not of the message: never forwarded (RFC 9110 section 7.6.1). */
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
  'host',
  'content-length',
]);

/** Upstream answers are buffered (JSON of the API); a bigger one is refused. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export interface UpstreamResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

/**
 * Why a forward failed. `unreached`: the request never got to the instance (connection refused,
 * or a kept-alive socket the instance had closed): any method may go to another instance.
 * `broken`: the connection failed after the request was sent: the instance may have acted on it.
 */
export class UpstreamError extends Error {
  constructor(
    readonly kind: 'unreached' | 'broken' | 'timeout' | 'too-large',
    message: string,
  ) {
    super(message);
  }
}

const UNREACHED_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

export interface Forwarder {
  forward(request: FastifyRequest, baseUrl: string, timeoutMs: number): Promise<UpstreamResponse>;
  close(): void;
}

function forwardedHeaders(request: FastifyRequest, body: Buffer | undefined): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  const connectionTokens = String(request.headers.connection ?? '')
    .split(',')
    .map((token) => token.trim().toLowerCase());
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || connectionTokens.includes(name)) continue;
    headers[name] = value;
  }
  const previous = request.headers['x-forwarded-for'];
  const chain = typeof previous === 'string' && previous ? `${previous}, ${request.ip}` : request.ip;
  headers['x-forwarded-for'] = chain;
  headers['x-forwarded-proto'] = request.protocol;
  headers['x-forwarded-host'] = request.headers.host ?? '';
  headers['x-correlation-id'] = request.id;
  if (body !== undefined) headers['content-length'] = String(body.length);
  return headers;
}

function responseHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

/** Forwards requests over kept-alive connections (one pool per upstream origin). */
export function createForwarder(): Forwarder {
  const http = new HttpAgent({ keepAlive: true, maxSockets: 128 });
  const https = new HttpsAgent({ keepAlive: true, maxSockets: 128 });
  return {
    forward(request, baseUrl, timeoutMs) {
      const target = new URL(`${baseUrl.replace(/\/+$/, '')}${request.raw.url ?? '/'}`);
      const body = Buffer.isBuffer(request.body) ? request.body : undefined;
      const secure = target.protocol === 'https:';
      return new Promise<UpstreamResponse>((resolve, reject) => {
        const upstream = (secure ? httpsRequest : httpRequest)(target, {
          method: request.method,
          headers: forwardedHeaders(request, body),
          agent: secure ? https : http,
        });
        const timer = setTimeout(() => {
          upstream.destroy(new UpstreamError('timeout', `no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        const fail = (error: Error) => {
          clearTimeout(timer);
          if (error instanceof UpstreamError) return reject(error);
          const code = (error as NodeJS.ErrnoException).code ?? '';
          const unreached = UNREACHED_CODES.has(code) || (upstream.reusedSocket && code === 'ECONNRESET');
          reject(
            new UpstreamError(unreached ? 'unreached' : 'broken', `${code || 'error'}: ${error.message}`),
          );
        };
        upstream.on('error', fail);
        upstream.on('response', (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              upstream.destroy(new UpstreamError('too-large', `answer over ${MAX_RESPONSE_BYTES} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          response.on('error', fail);
          response.on('end', () => {
            clearTimeout(timer);
            resolve({
              status: response.statusCode ?? 502,
              headers: responseHeaders(response.headers),
              body: Buffer.concat(chunks),
            });
          });
        });
        upstream.end(body);
      });
    },
    close() {
      http.destroy();
      https.destroy();
    },
  };
}
