/**
 * The demo's HTTP client: plain `fetch` against the running server, as any client of the API
 * would call it (no import from src/, so the demo shows the API, not the code behind it).
 */

/** A failure the demo explains to its reader: the message says what happened and what to do. */
export class DemoFailure extends Error {
  override readonly name = 'DemoFailure';
}

/** An RFC 9457 problem, as every error of the API answers (`code` is the stable part). */
export interface Problem {
  readonly status: number;
  readonly code?: string;
  readonly detail?: string;
}

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  /** The parsed JSON body; undefined when there is none or it is not JSON. */
  readonly body: unknown;
  readonly text: string;
}

export interface RequestOptions {
  readonly token?: string;
  /** Sent as JSON with `content-type: application/json`. */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A page of a list (every list that can grow answers one). */
export interface Page<T> {
  readonly items: T[];
  readonly next: string | null;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

/** The problem in a reply, when its body is one. */
export function problemOf(reply: Reply): Problem | undefined {
  const body = reply.body;
  if (!isObject(body)) return undefined;
  return {
    status: reply.status,
    ...(typeof body.code === 'string' ? { code: body.code } : {}),
    ...(typeof body.detail === 'string' ? { detail: body.detail } : {}),
  };
}

/** `409 INVENTORY_SKU_TAKEN: a product with sku … exists`, or the start of the body. */
export function describeReply(reply: Reply): string {
  const problem = problemOf(reply);
  if (problem?.code !== undefined) return `${reply.status} ${problem.code}: ${problem.detail ?? ''}`.trim();
  return `${reply.status} ${reply.text.slice(0, 300)}`.trim();
}

export class Api {
  constructor(readonly baseUrl: string) {}

  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(this.url(path), {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
    } catch (error) {
      throw new DemoFailure(`${method} ${path}: no answer from ${this.baseUrl} (${causeOf(error)})`);
    }
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: parseJson(text), text };
  }

  /**
   * The body of a reply with the `expected` status, typed as the route documents it (see
   * src/modules/<module>/routes.ts); any other status fails the demo with the problem's code.
   */
  async expect<T>(expected: number, method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const reply = await this.request(method, path, options);
    if (reply.status !== expected) {
      throw new DemoFailure(`${method} ${path} answered ${describeReply(reply)} (expected ${expected})`);
    }
    return reply.body as T;
  }

  /**
   * Every item of a list, which the server answers a page at a time: `{ items, next }`, where
   * `next` is the cursor to send as `?cursor=` for the following page, null on the last one.
   */
  async allPages<T>(path: string, options: RequestOptions = {}): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    do {
      const query = `?limit=100${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const page: Page<T> = await this.expect(200, 'GET', `${path}${query}`, options);
      items.push(...page.items);
      cursor = page.next;
    } while (cursor !== null);
    return items;
  }
}

/** `connect ECONNREFUSED 127.0.0.1:3000` rather than fetch's bare `fetch failed`. */
export function causeOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  return cause instanceof Error ? cause.message : error.message;
}

/**
 * Calls `probe` every `intervalMs` until it returns a value (not undefined) or `timeoutMs` has
 * passed; then fails with `describe()`, which says what was last seen.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  options: { readonly timeoutMs: number; readonly intervalMs: number; readonly describe: () => string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new DemoFailure(`${options.describe()} (waited ${Math.round(options.timeoutMs / 1000)} s)`);
    }
    await sleep(options.intervalMs);
  }
}
