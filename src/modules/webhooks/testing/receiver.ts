import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP receiver on 127.0.0.1 for webhook specs: records every request and answers each
 * path with a scripted series of statuses (the last one repeats; 200 when none is scripted).
 * `hang` never answers (for timeouts). Verification is written here from the Standard Webhooks
 * specification, independently of the module's signer, as a receiver would write it.
 */

export interface ReceivedRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export type Reply = number | 'hang' | { readonly redirectTo: string };

export interface Receiver {
  url(path: string): string;
  readonly port: number;
  /** Every request received on this path, oldest first. */
  received(path: string): ReceivedRequest[];
  /** Answers the next requests on this path with these replies in turn; the last one repeats. */
  script(path: string, ...replies: Reply[]): void;
  close(): Promise<void>;
}

function answer(response: ServerResponse, reply: Reply): void {
  if (reply === 'hang') return;
  if (typeof reply === 'object') {
    response.writeHead(302, { location: reply.redirectTo }).end();
    return;
  }
  response.writeHead(reply, { 'content-type': 'text/plain' }).end(reply < 300 ? 'ok' : 'no');
}

export async function startReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const scripts = new Map<string, Reply[]>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '/';
      requests.push({ path, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      const replies = scripts.get(path) ?? [];
      answer(response, (replies.length > 1 ? replies.shift() : replies[0]) ?? 200);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    received: (path) => requests.filter((r) => r.path === path),
    script: (path, ...replies) => void scripts.set(path, replies),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const header = (request: ReceivedRequest, name: string): string => {
  const value = request.headers[name];
  return typeof value === 'string' ? value : '';
};

/**
 * True when the request carries a valid Standard Webhooks signature for this secret, made within
 * `toleranceSeconds` of now (what a receiver checks before trusting a delivery).
 */
export function verifySignature(request: ReceivedRequest, secret: string, toleranceSeconds = 300): boolean {
  const id = header(request, 'webhook-id');
  const timestamp = header(request, 'webhook-timestamp');
  if (!id || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${request.body}`).digest();
  return header(request, 'webhook-signature')
    .split(' ')
    .some((entry) => {
      const [version, signature = ''] = entry.split(',');
      const given = Buffer.from(signature, 'base64');
      return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
    });
}
