/**
 * The contract's HTTP API (CONTRACT section 3) over real HTTP, for a deployment at `baseUrl`
 * (a gateway, or a one-process app): what the split-deployment test drives.
 */
import { randomBytes } from 'node:crypto';
import { collectPages, pagePath } from '../../src/kernel/http/pagination.js';

/** Response bodies are checked by the tests. */
// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the tests
export type Json = any;

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Json;
  readonly text: string;
}

export interface Account {
  readonly id: string;
  readonly email: string;
  readonly token: string;
}

export const TERMINAL = ['confirmed', 'payment_failed', 'cancelled'];
export const USER_PASSWORD = 'split-user-password';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
export const suffix = (): string => randomBytes(4).toString('hex');

export class Api {
  constructor(readonly baseUrl: string) {}

  async call(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await response.text();
    let body: Json;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: response.status, headers: response.headers, body, text };
  }

  /** The body of a `method path` that must answer one of `expected`. */
  async expect(
    expected: number | readonly number[],
    method: string,
    path: string,
    options = {},
  ): Promise<Json> {
    const answer = await this.call(method, path, options);
    const allowed = typeof expected === 'number' ? [expected] : expected;
    if (!allowed.includes(answer.status)) {
      throw new Error(
        `${method} ${path} answered ${answer.status} (expected ${allowed.join('/')}): ${answer.text.slice(0, 400)}`,
      );
    }
    return answer.body;
  }

  async login(email: string, password: string): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const answer = await this.call('POST', '/auth/login', { body: { email, password } });
      if (answer.status === 429 && attempt < 2) {
        await sleep(Number(answer.headers.get('retry-after') ?? 1) * 1000);
        continue;
      }
      if (answer.status !== 200) throw new Error(`login of ${email}: ${answer.status} ${answer.text}`);
      return answer.body.token as string;
    }
  }

  async register(name: string): Promise<Account> {
    const email = `${name.toLowerCase()}-${suffix()}@split.test`;
    const created = await this.expect(201, 'POST', '/auth/register', {
      body: { email, password: USER_PASSWORD, name },
    });
    return { id: created.id, email, token: await this.login(email, USER_PASSWORD) };
  }

  async createProduct(admin: string, sku: string, priceCents: number, stock: number): Promise<Json> {
    return this.expect(201, 'POST', '/inventory/products', {
      token: admin,
      body: { sku, name: `Product ${sku}`, priceCents, stock },
    });
  }

  async product(sku: string): Promise<{ stock: number; reserved: number; priceCents: number }> {
    return this.expect(200, 'GET', `/inventory/products/${encodeURIComponent(sku)}`);
  }

  async deposit(token: string, amountCents: number): Promise<number> {
    return (await this.expect(201, 'POST', '/payments/deposits', { token, body: { amountCents } }))
      .balanceCents;
  }

  async balance(token: string): Promise<number> {
    return (await this.expect(200, 'GET', '/payments/account', { token })).balanceCents;
  }

  /** Every item of a paginated list, following `next` page by page. */
  allPages(token: string, path: string): Promise<Json[]> {
    return collectPages((cursor) => this.expect(200, 'GET', pagePath(path, cursor), { token }));
  }

  async accountEvents(token: string): Promise<Json[]> {
    return this.allPages(token, '/payments/account/events');
  }

  /** POST /orders, retrying `ORDERS_UNKNOWN_SKU` while the orders catalogue catches up. */
  async placeOrder(
    token: string,
    items: { sku: string; quantity: number }[],
    headers: Record<string, string> = {},
  ): Promise<{ id: string; status: string; totalCents: number }> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const answer = await this.call('POST', '/orders', { token, body: { items }, headers });
      if (answer.status === 400 && answer.body?.code === 'ORDERS_UNKNOWN_SKU' && Date.now() < deadline) {
        await sleep(100);
        continue;
      }
      if (answer.status !== 202) throw new Error(`POST /orders: ${answer.status} ${answer.text}`);
      return answer.body;
    }
  }

  async order(token: string, id: string): Promise<Json> {
    return this.expect(200, 'GET', `/orders/${id}`, { token });
  }

  async waitForTerminal(
    token: string,
    ids: readonly string[],
    timeoutMs: number,
  ): Promise<Map<string, Json>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const orders = await this.allPages(token, '/orders');
      const byId = new Map(orders.map((o) => [o.id as string, o]));
      const open = ids.filter((id) => !TERMINAL.includes(byId.get(id)?.status));
      if (open.length === 0) return byId;
      if (Date.now() > deadline)
        throw new Error(`${open.length} of ${ids.length} orders not terminal after ${timeoutMs} ms`);
      await sleep(150);
    }
  }

  async notificationKinds(token: string): Promise<string[]> {
    const list = await this.allPages(token, '/notifications');
    return list.map((n) => String(n.kind)).sort();
  }

  async timelineTypes(
    token: string,
    orderId: string,
  ): Promise<{ types: string[]; correlationIds: string[] }> {
    const entries: Json[] = await this.expect(200, 'GET', `/orders/${orderId}/timeline`, { token });
    return {
      types: entries.map((e) => String(e.type)).filter((type) => !type.startsWith('notifications.')),
      correlationIds: [...new Set(entries.map((e) => String(e.correlationid)))],
    };
  }
}

/** Polls `read` until `done` holds, returning the last value, or throws after `timeoutMs`. */
export async function until<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let error: unknown;
  for (;;) {
    try {
      last = await read();
      if (done(last)) return last;
    } catch (e) {
      error = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met after ${timeoutMs} ms: ${JSON.stringify(last) ?? String(error)}`);
    }
    await sleep(200);
  }
}
