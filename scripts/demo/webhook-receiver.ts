/**
 * The small webhook receiver the demo starts itself: a node:http server on a free loopback port
 * that verifies each delivery the way the README's Webhooks section tells a receiver to (Standard
 * Webhooks), written from that description rather than imported from the server's signer, so a
 * mismatch between the two would show.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

const SECRET_PREFIX = 'whsec_';
/** Older timestamps are refused as replays (the tolerance the Standard Webhooks libraries use). */
const TOLERANCE_SECONDS = 5 * 60;

export interface Verdict {
  readonly valid: boolean;
  /** Why a delivery was refused; undefined when valid. */
  readonly reason?: string;
}

export interface SignedRequest {
  readonly id: string | undefined;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  /** The raw body, exactly as received: the signature covers these bytes. */
  readonly body: string;
}

/**
 * `webhook-signature` is `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed with the
 * base64-decoded part of the secret after `whsec_`; the header may list several, space-separated
 * (during a secret rotation), and any one matching is enough.
 */
export function verifyDelivery(secret: string, request: SignedRequest, nowSeconds: number): Verdict {
  const { id, timestamp, signature, body } = request;
  if (!id || !timestamp || !signature) return { valid: false, reason: 'webhook-* headers missing' };
  const sentAt = Number(timestamp);
  if (!Number.isInteger(sentAt) || Math.abs(nowSeconds - sentAt) > TOLERANCE_SECONDS) {
    return { valid: false, reason: `timestamp ${timestamp} is not within ${TOLERANCE_SECONDS} s of now` };
  }
  const key = Buffer.from(
    secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret,
    'base64',
  );
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  const matches = signature.split(' ').some((entry) => {
    const [version, value = ''] = entry.split(',', 2);
    const given = Buffer.from(value, 'base64');
    // timingSafeEqual: comparing byte by byte would tell an attacker how much of a guess was right.
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
  return matches ? { valid: true } : { valid: false, reason: 'no v1 signature matches' };
}

/** One delivery as the receiver saw it. */
export interface ReceivedDelivery {
  readonly webhookId: string;
  /** The CloudEvents envelope (`type`, `data`, …) the body carried. */
  readonly event: { readonly type: string; readonly data: Readonly<Record<string, unknown>> };
  readonly verdict: Verdict;
}

export interface WebhookReceiver {
  /** Where the server should POST, e.g. http://127.0.0.1:41234/hooks. */
  readonly url: string;
  /** The secret the server answered the subscription with; deliveries before it are refused (503). */
  useSecret(secret: string): void;
  received(): readonly ReceivedDelivery[];
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

const header = (request: IncomingMessage, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

function parseEvent(body: string): ReceivedDelivery['event'] {
  try {
    const parsed: unknown = JSON.parse(body);
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'type' in parsed &&
      typeof parsed.type === 'string'
    ) {
      const data =
        'data' in parsed && typeof parsed.data === 'object' && parsed.data !== null ? parsed.data : {};
      return { type: parsed.type, data: data as Record<string, unknown> };
    }
  } catch {
    // not JSON: recorded with an empty event below
  }
  return { type: '(not a CloudEvents envelope)', data: {} };
}

/** Starts the receiver on 127.0.0.1 and a port the system picks (free by construction). */
export async function startWebhookReceiver(path = '/hooks'): Promise<WebhookReceiver> {
  const deliveries: ReceivedDelivery[] = [];
  let secret: string | undefined;
  const server = createServer(async (request, response) => {
    const body = await readBody(request).catch(() => '');
    if (secret === undefined) {
      // Not subscribed yet: a non-2xx answer makes the server retry later, nothing is lost.
      response.writeHead(503).end();
      return;
    }
    const signed = {
      id: header(request, 'webhook-id'),
      timestamp: header(request, 'webhook-timestamp'),
      signature: header(request, 'webhook-signature'),
      body,
    };
    const verdict = verifyDelivery(secret, signed, Math.floor(Date.now() / 1000));
    deliveries.push({ webhookId: signed.id ?? '', event: parseEvent(body), verdict });
    // 2xx only for a genuine delivery, as a real receiver answers.
    response.writeHead(verdict.valid ? 204 : 401).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    useSecret: (value) => {
      secret = value;
    },
    received: () => deliveries,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
