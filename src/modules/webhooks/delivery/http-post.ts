import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { isRefusedAddress, withoutBrackets } from '../address-policy.js';
import { publicOnlyLookup } from '../target.js';

export interface WebhookRequest {
  readonly url: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** WEBHOOKS_ALLOW_PRIVATE: skip the address checks. */
  readonly allowPrivate: boolean;
  /** Aborted when the process shuts down. */
  readonly signal: AbortSignal;
}

/** What one attempt came to: `ok` for a 2xx answer. */
export interface AttemptResult {
  readonly ok: boolean;
  readonly responseStatus: number | null;
  readonly error: string | null;
}

const failure = (responseStatus: number | null, error: string): AttemptResult => ({
  ok: false,
  responseStatus,
  error,
});

function answered(status: number): AttemptResult {
  if (status >= 200 && status < 300) return { ok: true, responseStatus: status, error: null };
  const note = status >= 300 && status < 400 ? ': redirects are not followed' : '';
  return failure(status, `HTTP ${status}${note}`);
}

function describeError(error: Error, request: WebhookRequest): string {
  if (error.name !== 'AbortError') return error.message;
  return request.signal.aborted
    ? 'aborted: the server is shutting down'
    : `timed out after ${request.timeoutMs} ms`;
}

/**
 * POSTs the body once. node:http follows no redirect (a 3xx is a failed attempt: a redirect could
 * lead to a private address). Host names resolve through a lookup that refuses private answers,
 * so the address connected to is the address checked; a literal IP host is checked here.
 */
export function postWebhook(request: WebhookRequest): Promise<AttemptResult> {
  const url = new URL(request.url);
  const host = withoutBrackets(url.hostname);
  if (!request.allowPrivate && isIP(host) !== 0 && isRefusedAddress(host)) {
    return Promise.resolve(failure(null, `${host} is a private, loopback or link-local address`));
  }
  return new Promise((resolve) => {
    const { signal, settled } = attemptSignal(request);
    const settle = (result: AttemptResult) => {
      settled();
      resolve(result);
    };
    const client = url.protocol === 'https:' ? https : http;
    const outgoing = client.request(url, {
      method: 'POST',
      headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
      agent: false,
      signal,
      ...(request.allowPrivate ? {} : { lookup: publicOnlyLookup }),
    });
    outgoing.on('response', (response) => {
      response.on('error', () => {}); // the status is all we need; a broken body changes nothing
      response.resume();
      settle(answered(response.statusCode ?? 0));
    });
    // `on`, not `once`: an abort after the answer emits a second error, which must not go unheard.
    outgoing.on('error', (error) => settle(failure(null, describeError(error, request))));
    outgoing.end(request.body);
  });
}

/**
 * Aborted at the attempt's timeout or when the process shuts down; `settled` clears both once
 * the attempt has its outcome. A timer of our own, not AbortSignal.timeout() joined by
 * AbortSignal.any(): Node 20 holds such a timeout signal weakly, a garbage collection could drop
 * it, and the attempt to a target that never answers then never ended, holding its slot and the
 * target's connection (nodejs/node#57736; http-post.int.spec.ts). The timer holds the controller.
 */
function attemptSignal(request: WebhookRequest): { signal: AbortSignal; settled: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), request.timeoutMs);
  timer.unref(); // as AbortSignal.timeout's: a pending attempt does not keep the process alive
  const onShutdown = () => controller.abort();
  if (request.signal.aborted) controller.abort();
  else request.signal.addEventListener('abort', onShutdown, { once: true });
  return {
    signal: controller.signal,
    settled: () => {
      clearTimeout(timer);
      request.signal.removeEventListener('abort', onShutdown);
    },
  };
}
