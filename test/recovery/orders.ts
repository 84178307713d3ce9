/**
 * What the recovery tests do and check over HTTP, as users and an operator would: a shop with one
 * product and funded users, a steady stream of orders at a fixed rate (open loop: a slow answer
 * does not slow the stream), and, once the stream has stopped and every order has ended, the
 * outcome of every order, every charge, the stock and what is left undelivered.
 */
import { expect } from 'vitest';
import { type Account, type Api, type Json, suffix, USER_PASSWORD, until } from '../split/api.js';
import { ADMIN, type ProcessName, type RecoveryDeployment } from './deployment.js';

export const PRICE = 100;
const STOCK = 1_000_000;
const DEPOSIT = 10_000_000;
/** Orders sent and not answered yet, at most: beyond it the stream waits (and says so). */
const MAX_IN_FLIGHT = 200;

export interface Shop {
  readonly admin: string;
  readonly sku: string;
  readonly users: readonly Account[];
}

export interface PlacedOrder {
  readonly id: string;
  readonly user: Account;
  readonly phase: string;
}

/** One product with plenty of stock, and `count` users with plenty of money. */
export async function openShop(deployment: RecoveryDeployment, count: number): Promise<Shop> {
  const front = deployment.api('front');
  const admin = await front.login(ADMIN.email, ADMIN.password);
  const sku = `RECOVERY-${suffix().toUpperCase()}`;
  await front.createProduct(admin, sku, PRICE, STOCK);
  const users: Account[] = [];
  for (let i = 0; i < count; i++) users.push(await register(front, i));
  const payments = deployment.api('payments-2');
  for (const user of users) expect(await payments.deposit(user.token, DEPOSIT)).toBe(DEPOSIT);
  return { admin, sku, users };
}

/** Signs user `i` up and in from an address of its own (sign-ups and logins are limited per address). */
async function register(api: Api, i: number): Promise<Account> {
  const email = `shopper-${i}-${suffix()}@recovery.test`;
  const headers = { 'x-forwarded-for': `10.13.0.${i + 1}` };
  const created = await api.expect(201, 'POST', '/auth/register', {
    body: { email, password: USER_PASSWORD, name: `Shopper ${i}` },
    headers,
  });
  const session = await api.expect(200, 'POST', '/auth/login', {
    body: { email, password: USER_PASSWORD },
    headers,
  });
  return { id: created.id, email, token: session.token };
}

/** Orders of one unit at `perSecond`, from the shop's users in turn, until `stop`. */
export class OrderStream {
  readonly placed: PlacedOrder[] = [];
  /** Orders the front did not accept (status and body), with when. */
  readonly refused: string[] = [];
  phase = 'start';
  readonly #api: Api;
  readonly #shop: Shop;
  readonly #perSecond: number;
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #sent = 0;
  #saturated = 0;

  constructor(api: Api, shop: Shop, perSecond: number) {
    this.#api = api;
    this.#shop = shop;
    this.#perSecond = perSecond;
  }

  start(): void {
    this.#startedAt = performance.now();
    this.#timer = setInterval(() => this.#tick(), 5);
  }

  /** Stops sending; resolves once every order sent has been answered. */
  async stop(): Promise<{ sent: number; seconds: number; saturatedTicks: number }> {
    clearInterval(this.#timer);
    const seconds = (performance.now() - this.#startedAt) / 1000;
    await Promise.all(this.#inFlight);
    return { sent: this.#sent, seconds, saturatedTicks: this.#saturated };
  }

  #tick(): void {
    const due = Math.floor(((performance.now() - this.#startedAt) * this.#perSecond) / 1000);
    if (this.#sent < due && this.#inFlight.size >= MAX_IN_FLIGHT) this.#saturated++;
    while (this.#sent < due && this.#inFlight.size < MAX_IN_FLIGHT) this.#send(this.#sent++);
  }

  #send(n: number): void {
    const user = this.#shop.users[n % this.#shop.users.length] as Account;
    const phase = this.phase;
    const sending = this.#api
      .call('POST', '/orders', { token: user.token, body: { items: [{ sku: this.#shop.sku, quantity: 1 }] } })
      .then(
        (answer) => {
          if (answer.status === 202) this.placed.push({ id: answer.body.id, user, phase });
          else this.refused.push(`${phase}: ${answer.status} ${answer.text.slice(0, 200)}`);
        },
        (error: unknown) => {
          this.refused.push(`${phase}: ${String(error)}`);
        },
      );
    this.#inFlight.add(sending);
    void sending.finally(() => this.#inFlight.delete(sending));
  }
}

/** Resolves once analytics counts `total` orders ended (every order's outcome has gone all the way). */
export async function allEnded(front: Api, admin: string, total: number, timeoutMs: number): Promise<Json> {
  return until(
    () => front.expect(200, 'GET', '/analytics/summary', { token: admin }),
    (s) => s.ordersPlaced >= total && s.ordersConfirmed + s.ordersPaymentFailed + s.ordersCancelled >= total,
    timeoutMs,
  );
}

export interface Outcome {
  readonly placed: number;
  readonly confirmed: number;
  readonly cancelledForTimeout: number;
  /** Order to terminal (its updatedAt - createdAt), ms: p50, p99, max. */
  readonly latencyMs: readonly [number, number, number];
}

const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

/**
 * Every order placed so far: its status as its user sees it, its charges in the user's account
 * stream (exactly one each, no refund, balance exact), the product's stock, and what the three
 * processes have left: no pending outbox row, no dead letter, no saga still running.
 */
export async function checkOutcome(
  deployment: RecoveryDeployment,
  shop: Shop,
  placed: readonly PlacedOrder[],
): Promise<Outcome> {
  const front = deployment.api('front');
  const payments = deployment.api('payments-2');
  const statuses: Json[] = [];
  for (const user of shop.users) {
    const mine = placed.filter((p) => p.user === user);
    const orders = await front.allPages(user.token, '/orders');
    const byId = new Map(orders.map((o) => [o.id as string, o]));
    statuses.push(...mine.map((p) => byId.get(p.id) ?? { id: p.id, status: 'missing' }));

    const events: Json[] = await payments.accountEvents(user.token);
    const charged = events.filter((e) => e.type === 'PaymentCharged').map((e) => String(e.data.orderId));
    expect(charged.length, `charges of ${user.email}`).toBe(new Set(charged).size);
    expect(new Set(charged), `orders charged for ${user.email}`).toEqual(new Set(mine.map((p) => p.id)));
    expect(events.filter((e) => e.type !== 'PaymentCharged' && e.type !== 'FundsDeposited')).toEqual([]);
    expect(await payments.balance(user.token)).toBe(DEPOSIT - mine.length * PRICE);
  }
  const cancelledForTimeout = statuses.filter((o) => o.status === 'cancelled' && o.reason === 'timeout');
  const notConfirmed = statuses.filter((o) => o.status !== 'confirmed');
  expect(cancelledForTimeout.length, 'orders cancelled for timeout').toBe(0);
  expect(notConfirmed.map((o) => `${o.id} ${o.status} ${o.reason ?? ''}`)).toEqual([]);

  const product = await front.product(shop.sku);
  expect(product).toMatchObject({ stock: STOCK - placed.length, reserved: placed.length });
  await expectNothingLeft(deployment, shop.admin);

  const latencies = statuses
    .map((o) => Date.parse(o.updatedAt) - Date.parse(o.createdAt))
    .sort((a, b) => a - b);
  return {
    placed: placed.length,
    confirmed: statuses.length - notConfirmed.length,
    cancelledForTimeout: cancelledForTimeout.length,
    latencyMs: [quantile(latencies, 0.5), quantile(latencies, 0.99), latencies.at(-1) ?? 0],
  };
}

/**
 * No pending outbox row, dead letter or unfinished saga on any process running (the instances of
 * a module share its database: one of them answers for a killed one).
 */
async function expectNothingLeft(deployment: RecoveryDeployment, admin: string): Promise<void> {
  for (const name of deployment.running()) {
    const api = deployment.api(name);
    const outboxes: Json[] = await until(
      () => api.expect(200, 'GET', '/admin/outbox', { token: admin }),
      (list: Json[]) => list.every((o) => o.pending === 0),
      30_000,
    );
    expect(
      outboxes.filter((o) => o.pending > 0),
      `${name}: outbox rows pending`,
    ).toEqual([]);
    expect(await api.allPages(admin, '/admin/dead-letters'), `${name}: dead letters`).toEqual([]);
  }
  const front = deployment.api('front');
  for (const status of ['running', 'compensating']) {
    const sagas = await front.allPages(admin, `/admin/sagas?status=${status}`);
    expect(sagas, `sagas ${status}`).toEqual([]);
  }
}

/**
 * How long after `since` the process holds every partition of each payments consumer (from its
 * /metrics, read every 200 ms): the takeover of a killed instance's partitions.
 */
export async function takeoverMs(
  deployment: RecoveryDeployment,
  survivor: ProcessName,
  partitions: number,
  since: number,
): Promise<number> {
  await until(
    async () => deployment.metrics(survivor),
    (text) => {
      const held = text
        .split('\n')
        .filter((line) => line.startsWith('bus_partitions_held{') && line.includes('consumer="payments.'));
      return (
        held.length > 0 && held.every((line) => Number(line.slice(line.lastIndexOf(' ') + 1)) === partitions)
      );
    },
    60_000,
  );
  return performance.now() - since;
}

/** The sum of the values of the metric lines of `name` whose labels include every one of `labels`. */
function metricSum(text: string, name: string, labels: readonly string[] = []): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => labels.every((label) => line.includes(label)))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** What the front says of the phase: step timeouts its saga consumer received, its longest event-loop stall. */
export async function frontFigures(
  deployment: RecoveryDeployment,
): Promise<{ stepTimeouts: number; eventLoopMaxMs: number }> {
  const text = await deployment.metrics('front');
  return {
    stepTimeouts: metricSum(text, 'bus_messages_handled_total', [
      'type="orders.checkout-step-timed-out"',
      'outcome="handled"',
    ]),
    // prom-client's maximum since the previous scrape (its event-loop histogram is reset by each)
    eventLoopMaxMs: Math.round(metricSum(text, 'nodejs_eventloop_lag_max_seconds') * 1000),
  };
}
