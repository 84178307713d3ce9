/**
 * HTTP over loopback with keep-alive (node:http, one agent per client): lighter on the shared
 * CPU than fetch, which matters when the load generator and the app share two cores.
 */
import { Agent, request } from 'node:http';

export interface Answer {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers; callers check what they use
  readonly body: any;
  /** Epoch milliseconds (sub-millisecond) just before the request was written. */
  readonly sentAt: number;
}

export interface CallOptions {
  readonly token?: string;
  readonly body?: unknown;
  /** The client address (sign-ups and failed logins are limited per address). */
  readonly localAddress?: string;
}

/** Wall-clock milliseconds with sub-millisecond resolution (comparable with the app's Date.now()). */
export const epochNow = (): number => performance.timeOrigin + performance.now();

export class HttpClient {
  readonly #agent: Agent;
  readonly #port: number;

  constructor(port: number, maxSockets: number) {
    this.#port = port;
    this.#agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  call(method: string, path: string, options: CallOptions = {}): Promise<Answer> {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = {};
    if (payload !== undefined) headers['content-type'] = 'application/json';
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    return new Promise((resolve, reject) => {
      const sentAt = epochNow();
      const req = request(
        {
          host: '127.0.0.1',
          port: this.#port,
          method,
          path,
          headers,
          agent: this.#agent,
          ...(options.localAddress ? { localAddress: options.localAddress } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown;
            try {
              body = text === '' ? undefined : JSON.parse(text);
            } catch {
              body = text;
            }
            resolve({ status: res.statusCode ?? 0, body, sentAt });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Like `call`, but rejects unless the status is `expected`. */
  async expect(expected: number, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
    const answer = await this.call(method, path, options);
    if (answer.status !== expected) {
      throw new Error(
        `${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`,
      );
    }
    return answer;
  }

  close(): void {
    this.#agent.destroy();
  }
}
