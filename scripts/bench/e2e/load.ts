/**
 * The e2e load: a shop set up through the API (admin, products with plenty of stock, users with
 * plenty of balance), orders sent open-loop at a fixed rate or closed-loop as fast as the app
 * accepts them, and each order's terminal time read back from the app (`updatedAt`).
 */
import { collectPages, pagePath } from '../../../src/kernel/http/pagination.js';
import { sleep, summarize } from '../lib/stats.js';
import { type Answer, epochNow, type HttpClient } from './client.js';

export const ADMIN_EMAIL = 'admin@bench.test';
export const ADMIN_PASSWORD = 'bench-admin-password';
const USER_PASSWORD = 'bench-user-password';
const SKUS = ['BENCH-A', 'BENCH-B', 'BENCH-C', 'BENCH-D', 'BENCH-E'];
const TERMINAL = new Set(['confirmed', 'payment_failed', 'cancelled']);

export interface Shop {
  readonly client: HttpClient;
  readonly admin: string;
  readonly users: readonly string[];
  /** Orders the app accepted (202) so far, over every phase. */
  accepted: number;
}

/** Each user signs up and logs in from its own loopback address: sign-ups are limited per address. */
const clientAddress = (i: number) => `127.0.${1 + Math.floor(i / 250)}.${2 + (i % 250)}`;

async function login(client: HttpClient, email: string, password: string, i: number): Promise<string> {
  const answer = await client.expect(200, 'POST', '/auth/login', {
    body: { email, password },
    localAddress: clientAddress(i),
  });
  return answer.body.token as string;
}

/** The seeded admin's token (ADMIN_EMAIL / ADMIN_PASSWORD). */
export const adminToken = (client: HttpClient): Promise<string> =>
  login(client, ADMIN_EMAIL, ADMIN_PASSWORD, 0);

/**
 * Signs a user up as a well-behaved client does: the server takes a few sign-ups at a time (their
 * own hashing lane) and answers the rest 503 USERS_BUSY, to be tried again shortly.
 */
async function signUp(client: HttpClient, email: string, name: string, localAddress: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const answer = await client.call('POST', '/auth/register', {
      body: { email, password: USER_PASSWORD, name },
      localAddress,
    });
    if (answer.status === 201) return;
    if (answer.status !== 503 || attempt >= 50) {
      throw new Error(
        `POST /auth/register answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`,
      );
    }
    await sleep(200);
  }
}

export async function setUpShop(client: HttpClient, userCount: number): Promise<Shop> {
  const admin = await adminToken(client);
  for (const sku of SKUS) {
    const body = { sku, name: `Bench ${sku}`, priceCents: 100, stock: 1_000_000_000 };
    await client.expect(201, 'POST', '/inventory/products', { token: admin, body });
  }
  const users = await Promise.all(
    Array.from({ length: userCount }, async (_, i) => {
      const email = `bench-user-${i}@bench.test`;
      await signUp(client, email, `Bench User ${i}`, clientAddress(i + 1));
      const token = await login(client, email, USER_PASSWORD, i + 1);
      await client.expect(201, 'POST', '/payments/deposits', {
        token,
        body: { amountCents: 100_000_000_000 },
      });
      return token;
    }),
  );
  const shop: Shop = { client, admin, users, accepted: 0 };
  // The orders module prices from a catalogue fed by inventory's events: wait until it knows every sku.
  for (const [i, sku] of SKUS.entries()) {
    for (let attempt = 0; ; attempt++) {
      const answer = await postOrder(shop, i, sku);
      if (answer.status === 202) break;
      if (attempt > 400) throw new Error(`the catalogue never learnt ${sku}: ${JSON.stringify(answer.body)}`);
      await sleep(25);
    }
  }
  return shop;
}

function postOrder(shop: Shop, i: number, sku = SKUS[i % SKUS.length] as string): Promise<Answer> {
  const token = shop.users[i % shop.users.length] as string;
  return shop.client
    .call('POST', '/orders', { token, body: { items: [{ sku, quantity: 1 }] } })
    .then((answer) => {
      if (answer.status === 202) shop.accepted++;
      return answer;
    });
}

export interface Sent {
  readonly id: string;
  readonly sentAt: number;
}

export interface Phase {
  readonly sent: Sent[];
  /** POST /orders → 202 latencies (ms). */
  readonly accept: number[];
  readonly refused: Map<number, number>;
  readonly firstSendAt: number;
  readonly lastAcceptAt: number;
}

function newPhase(): Phase & { lastAcceptAt: number } {
  return { sent: [], accept: [], refused: new Map(), firstSendAt: epochNow(), lastAcceptAt: 0 };
}

async function place(shop: Shop, i: number, phase: Phase & { lastAcceptAt: number }): Promise<void> {
  const answer = await postOrder(shop, i);
  const now = epochNow();
  if (answer.status !== 202) {
    phase.refused.set(answer.status, (phase.refused.get(answer.status) ?? 0) + 1);
    return;
  }
  phase.sent.push({ id: answer.body.id as string, sentAt: answer.sentAt });
  phase.accept.push(now - answer.sentAt);
  phase.lastAcceptAt = Math.max(phase.lastAcceptAt, now);
}

/** Open loop: order i is sent at start + i / rate, whether or not earlier ones were answered. */
export async function openLoop(shop: Shop, rate: number, seconds: number): Promise<Phase> {
  const phase = newPhase();
  const count = Math.round(rate * seconds);
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    inFlight.push(place(shop, i, phase));
  }
  await Promise.all(inFlight);
  return phase;
}

/** Closed loop: `concurrency` senders, each sending its next order when the last was answered. */
export async function closedLoop(shop: Shop, count: number, concurrency: number): Promise<Phase> {
  const phase = newPhase();
  let next = 0;
  const sender = async () => {
    while (next < count) await place(shop, next++, phase);
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  return phase;
}

interface OrderView {
  readonly id: string;
  readonly status: string;
  readonly updatedAt: string;
}

/**
 * Waits until the app's analytics count as many terminal orders as were accepted (a cheap poll
 * that does not load the app), then reads every user's orders once (page after page).
 */
export async function terminalOrders(shop: Shop, timeoutMs: number): Promise<Map<string, OrderView>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await shop.client.expect(200, 'GET', '/analytics/summary', { token: shop.admin });
    const terminal = body.ordersConfirmed + body.ordersPaymentFailed + body.ordersCancelled;
    if (terminal >= shop.accepted || Date.now() > deadline) break;
    await sleep(100);
  }
  const orders = new Map<string, OrderView>();
  for (const token of shop.users) {
    const mine = await collectPages<OrderView>(
      async (cursor) => (await shop.client.expect(200, 'GET', pagePath('/orders', cursor), { token })).body,
    );
    for (const order of mine) orders.set(order.id, order);
  }
  return orders;
}

export interface PhaseFigures {
  /** Orders per second reaching a terminal state: count / (last terminal − first send). */
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  readonly acceptP50: number;
  readonly acceptP99: number;
  /** POST /orders answered per second (202s over the sending window). */
  readonly acceptRate: number;
  readonly count: number;
  readonly notes: string[];
}

export function phaseFigures(phase: Phase, orders: Map<string, OrderView>): PhaseFigures {
  const latencies: number[] = [];
  const statuses = new Map<string, number>();
  let lastTerminal = 0;
  let pending = 0;
  for (const { id, sentAt } of phase.sent) {
    const order = orders.get(id);
    if (!order || !TERMINAL.has(order.status)) {
      pending++;
      continue;
    }
    statuses.set(order.status, (statuses.get(order.status) ?? 0) + 1);
    const terminalAt = Date.parse(order.updatedAt);
    lastTerminal = Math.max(lastTerminal, terminalAt);
    latencies.push(Math.max(0, terminalAt - sentAt));
  }
  if (pending > 0)
    throw new Error(`${pending} of ${phase.sent.length} orders did not reach a terminal state`);
  const latency = summarize(latencies);
  const accept = summarize(phase.accept);
  const notes: string[] = [];
  const unexpected = [...statuses].filter(([status]) => status !== 'confirmed');
  if (unexpected.length > 0)
    notes.push(`not confirmed: ${unexpected.map(([s, n]) => `${n} ${s}`).join(', ')}`);
  if (phase.refused.size > 0)
    notes.push(`refused: ${[...phase.refused].map(([s, n]) => `${n}× HTTP ${s}`).join(', ')}`);
  return {
    rate: latencies.length / ((lastTerminal - phase.firstSendAt) / 1000),
    p50: latency.p50,
    p99: latency.p99,
    acceptP50: accept.p50,
    acceptP99: accept.p99,
    acceptRate: phase.sent.length / ((phase.lastAcceptAt - phase.firstSendAt) / 1000),
    count: latencies.length,
    notes,
  };
}
