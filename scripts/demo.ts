/**
 * `npm run demo`: the README's walk through the API, run against a running server, one numbered
 * line per step with its key figures.
 *
 *   ADMIN_EMAIL=admin@example.com ADMIN_PASSWORD=change-me-please WEBHOOKS_ALLOW_PRIVATE=1 npm start
 *   npm run demo                                   # http://127.0.0.1:3000
 *   npm run demo -- --url http://127.0.0.1:3100    # or DEMO_URL=…
 *
 * The demo logs in as the admin the server was started with (it reads the same ADMIN_EMAIL and
 * ADMIN_PASSWORD, with the defaults above), and receives a webhook on a loopback port of its own,
 * which the server calls only with WEBHOOKS_ALLOW_PRIVATE=1. Every name it creates (user, skus)
 * is new per run, so it runs any number of times against the same server. Exit code 0 when every
 * step did what it says, 1 with the reason otherwise.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  Api,
  causeOf,
  DemoFailure,
  describeReply,
  problemOf,
  type Reply,
  sleep,
  waitFor,
} from './demo/api.js';
import {
  type ReceivedDelivery,
  startWebhookReceiver,
  type WebhookReceiver,
} from './demo/webhook-receiver.js';

const DEFAULT_URL = 'http://127.0.0.1:3000';
const DEFAULT_ADMIN = { email: 'admin@example.com', password: 'change-me-please' } as const;
const SERVER_COMMAND = `ADMIN_EMAIL=${DEFAULT_ADMIN.email} ADMIN_PASSWORD=${DEFAULT_ADMIN.password} WEBHOOKS_ALLOW_PRIVATE=1 npm start`;

const READY_TIMEOUT_MS = 60_000;
/** Longer than the saga's default step timeout (30 s): a stuck step still ends the order, cancelled. */
const ORDER_TIMEOUT_MS = 45_000;
/** Notifications, analytics, timelines and webhooks follow the orders through the bus: moments. */
const FOLLOW_UP_TIMEOUT_MS = 20_000;
const POLL_MS = 100;

// ---- the shapes the routes answer with (src/modules/*/routes.ts) ----

type OrderStatus = 'pending' | 'confirmed' | 'payment_failed' | 'cancelled';
type TerminalStatus = Exclude<OrderStatus, 'pending'>;
interface Session {
  readonly token: string;
  readonly expiresIn: number;
}
interface RegisteredUser {
  readonly id: string;
  readonly email: string;
  readonly name: string;
}
interface Product {
  readonly sku: string;
  readonly name: string;
  readonly priceCents: number;
  readonly stock: number;
  readonly reserved: number;
}
interface Accepted {
  readonly id: string;
  readonly status: 'pending';
  readonly totalCents: number;
}
interface Order {
  readonly id: string;
  readonly status: OrderStatus;
  readonly totalCents: number;
  readonly reason?: string;
}
interface TerminalOrder extends Order {
  readonly status: TerminalStatus;
}
const isTerminal = (order: Order): order is TerminalOrder => order.status !== 'pending';
interface TimelineEntry {
  readonly id: string;
  readonly type: string;
  readonly causationid: string | null;
}
interface Notification {
  readonly kind: string;
  readonly subject: string;
  readonly body: string;
}
interface Summary {
  readonly ordersPlaced: number;
  readonly ordersConfirmed: number;
  readonly ordersPaymentFailed: number;
  readonly ordersCancelled: number;
  readonly revenueCents: number;
  readonly refundedCents: number;
}
interface WebhookCreated {
  readonly id: string;
  readonly secret: string;
}
interface WebhookDelivery {
  readonly status: 'pending' | 'delivered' | 'failed';
  readonly attempts: number;
  readonly responseStatus: number | null;
}
interface DeadLetter {
  readonly consumer: string;
  readonly event: { readonly type?: string } | string;
  readonly error: string;
}
interface Health {
  readonly status: string;
  readonly checks: Readonly<Record<string, { readonly status: string; readonly detail?: string }>>;
}

// ---- what this run creates ----

interface Settings {
  readonly baseUrl: string;
  readonly admin: { readonly email: string; readonly password: string };
}

interface Admin {
  readonly token: string;
  /** The summary before this run's orders, so the analytics step shows what they added. */
  readonly summaryBefore: Summary;
}

interface User {
  readonly id: string;
  readonly email: string;
  readonly password: string;
}

interface Shop {
  readonly mug: Product;
  readonly lamp: Product;
}

/** One order of the walk-through: what it buys, and the outcome it must reach. */
interface Scenario {
  readonly label: string;
  readonly product: keyof Shop;
  readonly quantity: number;
  readonly expected: TerminalStatus;
  /** Why it ends that way, for the reader. */
  readonly because: (shop: Shop, balanceCents: number) => string;
}

interface Placed {
  readonly scenario: Scenario;
  readonly order: TerminalOrder;
}

const DEPOSIT_CENTS = 5000;
const PRODUCTS = {
  mug: { name: 'Mug', priceCents: 1250, stock: 10 },
  lamp: { name: 'Lamp', priceCents: 900, stock: 1 },
} as const;

/** With 50.00 deposited: 25.00 is charged; 37.50 is more than the 25.00 left; 2 lamps, more than the 1 in stock. */
const SCENARIOS: readonly Scenario[] = [
  {
    label: 'confirmed',
    product: 'mug',
    quantity: 2,
    expected: 'confirmed',
    because: () => 'the balance covers it and the stock holds it',
  },
  {
    label: 'payment failed',
    product: 'mug',
    quantity: 3,
    expected: 'payment_failed',
    because: (_shop, balance) => `more than the balance of ${money(balance)}`,
  },
  {
    label: 'out of stock',
    product: 'lamp',
    quantity: 2,
    expected: 'cancelled',
    because: (shop) => `more than the ${shop.lamp.stock} in stock: charged, then refunded`,
  },
];

/** The event each terminal status publishes: the last message of the order's timeline. */
const OUTCOME_EVENTS: Readonly<Record<TerminalStatus, string>> = {
  confirmed: 'orders.order-confirmed',
  payment_failed: 'orders.order-payment-failed',
  cancelled: 'orders.order-cancelled',
};
const WEBHOOK_EVENTS = Object.values(OUTCOME_EVENTS);

// ---- the walk-through: every step, in order ----

async function runDemo(settings: Settings, steps: Steps): Promise<void> {
  const api = new Api(settings.baseUrl);
  const run = randomBytes(3).toString('hex');
  const receiver = await startWebhookReceiver();
  const cleanups: (() => Promise<unknown>)[] = [() => receiver.close()];
  try {
    console.log(`Demo against ${settings.baseUrl} (run ${run})`);
    console.log(`Waiting for ${api.url('/health/ready')} (up to ${READY_TIMEOUT_MS / 1000} s)…`);
    await steps.run('server ready', () => waitUntilReady(api));
    const admin = await steps.run('admin session', () => adminSession(api, settings.admin));
    const user = await steps.run('user registered', () => registerUser(api, run));
    const token = await steps.run('user logged in', () => logInUser(api, user));
    await steps.run('deposit', () => deposit(api, token, DEPOSIT_CENTS));
    const shop = await steps.run('products created (as admin)', () => createProducts(api, admin.token, run));
    const webhookId = await steps.run('webhook subscribed', () => subscribeWebhook(api, token, receiver));
    // The receiver ends with the demo; its webhook goes too, so the server does not retry a closed port.
    cleanups.push(() => api.request('DELETE', `/webhooks/${webhookId}`, { token }));
    const placed: Placed[] = [];
    for (const [index, scenario] of SCENARIOS.entries()) {
      const title = `order ${index + 1} (${scenario.label})`;
      placed.push(
        await steps.run(title, () => checkout(api, token, shop, scenario, `demo-${run}-${index + 1}`)),
      );
    }
    await steps.run('notifications of the user', () => showNotifications(api, token, user));
    await steps.run('analytics summary (admin)', () => showSummary(api, admin));
    await steps.run('webhook deliveries', () => checkWebhook(api, token, webhookId, receiver, placed));
    await steps.run('dead letters (admin)', () => replayDeadLetters(api, admin.token));
    const outcomes = placed.map((p) => p.order.status).join(', ');
    console.log(`Done: ${steps.count} steps; orders ${outcomes}; every webhook signature verified.`);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

// ---- the steps ----

async function waitUntilReady(api: Api): Promise<StepResult<void>> {
  const started = Date.now();
  let last = 'no answer yet';
  let nextNote = started + 5000;
  const health = await waitFor(
    async () => {
      try {
        const reply = await api.request('GET', '/health/ready');
        if (reply.status === 200) return reply.body as Health;
        last = `answered ${reply.status}: ${failingChecks(reply.body as Health | undefined)}`;
      } catch (error) {
        last = causeOf(error);
      }
      if (Date.now() > nextNote) {
        console.log(`    still waiting (${Math.round((Date.now() - started) / 1000)} s): ${last}`);
        nextNote += 5000;
      }
      return undefined;
    },
    {
      timeoutMs: READY_TIMEOUT_MS,
      intervalMs: 500,
      describe: () =>
        `${api.url('/health/ready')} is not ready: ${last}. Is the server running? Start it with: ${SERVER_COMMAND}`,
    },
  );
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const checks = Object.keys(health.checks);
  return done(undefined, `/health/ready answered ${health.status} after ${seconds} s (${checks.join(', ')})`);
}

function failingChecks(health: Health | undefined): string {
  const failing = Object.entries(health?.checks ?? {}).filter(([, check]) => check.status !== 'pass');
  return failing.map(([name, check]) => `${name} ${check.detail ?? check.status}`).join('; ') || 'not ready';
}

async function adminSession(api: Api, admin: Settings['admin']): Promise<StepResult<Admin>> {
  const reply = await logIn(api, admin.email, admin.password);
  if (reply.status === 401 || reply.status === 400) {
    throw new DemoFailure(
      `admin login as ${admin.email} answered ${describeReply(reply)}. The server creates its admin at start ` +
        'from ADMIN_EMAIL and ADMIN_PASSWORD: start it with them set (e.g. ' +
        `${SERVER_COMMAND}), and run the demo with the same values (it reads the same variables; ` +
        `defaults ${DEFAULT_ADMIN.email} / ${DEFAULT_ADMIN.password}).`,
    );
  }
  const session = expectSession(reply, `admin login as ${admin.email}`);
  if (roleOf(session.token) !== 'admin') {
    throw new DemoFailure(
      `${admin.email} logged in but is not an admin (an ordinary account was registered with that ` +
        'email before the server was started with ADMIN_EMAIL): use another ADMIN_EMAIL, on both sides.',
    );
  }
  const summaryBefore = await api.expect<Summary>(200, 'GET', '/analytics/summary', { token: session.token });
  return done(
    { token: session.token, summaryBefore },
    `logged in as ${admin.email} (role admin); the server has seen ${summaryBefore.ordersPlaced} orders so far`,
  );
}

async function registerUser(api: Api, run: string): Promise<StepResult<User>> {
  const email = `demo-${run}@example.com`;
  const password = 'correct horse battery staple';
  const created = await api.expect<RegisteredUser>(201, 'POST', '/auth/register', {
    body: { email, password, name: `Demo ${run}` },
  });
  return done({ id: created.id, email, password }, `${created.email} (${created.name}), id ${created.id}`);
}

async function logInUser(api: Api, user: User): Promise<StepResult<string>> {
  const session = expectSession(await logIn(api, user.email, user.password), `login as ${user.email}`);
  return done(session.token, `${user.email}: a bearer token valid ${session.expiresIn} s`);
}

async function deposit(api: Api, token: string, amountCents: number): Promise<StepResult<void>> {
  const account = await api.expect<{ balanceCents: number }>(201, 'POST', '/payments/deposits', {
    token,
    body: { amountCents },
  });
  return done(undefined, `${money(amountCents)} deposited, balance ${money(account.balanceCents)}`);
}

async function createProducts(api: Api, adminToken: string, run: string): Promise<StepResult<Shop>> {
  const create = (key: keyof Shop) =>
    api.expect<Product>(201, 'POST', '/inventory/products', {
      token: adminToken,
      body: { sku: `demo-${run}-${key}`, ...PRODUCTS[key] },
    });
  const shop: Shop = { mug: await create('mug'), lamp: await create('lamp') };
  const line = Object.values(shop)
    .map((p) => `${p.sku} at ${money(p.priceCents)} (${p.stock} in stock)`)
    .join(', ');
  return done(shop, line);
}

async function subscribeWebhook(
  api: Api,
  token: string,
  receiver: WebhookReceiver,
): Promise<StepResult<string>> {
  const reply = await api.request('POST', '/webhooks', {
    token,
    body: { url: receiver.url, events: WEBHOOK_EVENTS },
  });
  if (problemOf(reply)?.code === 'WEBHOOKS_PRIVATE_TARGET') {
    throw new DemoFailure(
      `the server refuses the demo's receiver at ${receiver.url} (${describeReply(reply)}). ` +
        'A loopback target needs the server started with WEBHOOKS_ALLOW_PRIVATE=1 (development only): ' +
        SERVER_COMMAND,
    );
  }
  if (reply.status !== 201) throw new DemoFailure(`POST /webhooks answered ${describeReply(reply)}`);
  const created = reply.body as WebhookCreated;
  receiver.useSecret(created.secret);
  return done(
    created.id,
    `${receiver.url} (a receiver the demo started) for ${WEBHOOK_EVENTS.join(', ')}; ` +
      `secret ${created.secret.slice(0, 10)}… shown only now`,
  );
}

async function checkout(
  api: Api,
  token: string,
  shop: Shop,
  scenario: Scenario,
  idempotencyKey: string,
): Promise<StepResult<Placed>> {
  const product = shop[scenario.product];
  const balanceBefore = await balanceOf(api, token);
  const accepted = await placeOrder(api, token, product.sku, scenario.quantity, idempotencyKey);
  const order = await waitForTerminal(api, token, accepted.id);
  if (order.status !== scenario.expected) {
    throw new DemoFailure(`order ${order.id} ended ${describeOrder(order)}, expected ${scenario.expected}`);
  }
  const timeline = await waitForTimeline(api, token, order);
  const balanceAfter = await balanceOf(api, token);
  const bought = `${scenario.quantity} × ${product.sku} = ${money(accepted.totalCents)}`;
  return done(
    { scenario, order },
    `${bought}, ${scenario.because(shop, balanceBefore)} → ${describeOrder(order)}; balance ${money(balanceAfter)}`,
    [`id ${order.id}`, `timeline (${timeline.length} messages, causal order): ${timeline.join(' → ')}`],
  );
}

async function showNotifications(api: Api, token: string, user: User): Promise<StepResult<void>> {
  // One per order outcome, and one for the refund of the out-of-stock order.
  const kinds = ['order-confirmed', 'order-payment-failed', 'order-cancelled', 'payment-refunded'];
  let last: Notification[] = [];
  const list = await waitFor(
    async () => {
      last = await api.allPages<Notification>('/notifications', { token });
      return kinds.every((kind) => last.some((n) => n.kind === kind)) ? last : undefined;
    },
    {
      timeoutMs: FOLLOW_UP_TIMEOUT_MS,
      intervalMs: POLL_MS,
      describe: () =>
        `expected notifications ${kinds.join(', ')}; got ${last.map((n) => n.kind).join(', ') || 'none'}`,
    },
  );
  const first = list[0];
  return done(
    undefined,
    `${list.length} for ${user.email}: ${list.map((n) => `"${n.subject}"`).join(', ')}`,
    first ? [`the first one says: ${first.body.replace(/\s+/g, ' ')}`] : [],
  );
}

async function showSummary(api: Api, admin: Admin): Promise<StepResult<void>> {
  const before = admin.summaryBefore;
  let last = before;
  // The summary is the whole server's: this run's orders have reached it once each count has grown by them.
  const summary = await waitFor(
    async () => {
      last = await api.expect<Summary>(200, 'GET', '/analytics/summary', { token: admin.token });
      const grown =
        last.ordersPlaced - before.ordersPlaced >= 3 &&
        last.ordersConfirmed > before.ordersConfirmed &&
        last.ordersPaymentFailed > before.ordersPaymentFailed &&
        last.ordersCancelled > before.ordersCancelled;
      return grown ? last : undefined;
    },
    {
      timeoutMs: FOLLOW_UP_TIMEOUT_MS,
      intervalMs: POLL_MS,
      describe: () => `the analytics summary did not count this run's orders: ${JSON.stringify(last)}`,
    },
  );
  return done(
    undefined,
    `placed ${summary.ordersPlaced}, confirmed ${summary.ordersConfirmed}, payment failed ` +
      `${summary.ordersPaymentFailed}, cancelled ${summary.ordersCancelled}, revenue ${money(summary.revenueCents)}, ` +
      `refunded ${money(summary.refundedCents)}`,
    [
      `this run added: ${summary.ordersPlaced - before.ordersPlaced} placed, ` +
        `${money(summary.revenueCents - before.revenueCents)} revenue, ` +
        `${money(summary.refundedCents - before.refundedCents)} refunded`,
    ],
  );
}

async function checkWebhook(
  api: Api,
  token: string,
  webhookId: string,
  receiver: WebhookReceiver,
  placed: readonly Placed[],
): Promise<StepResult<void>> {
  const received = await waitFor(async () => receivedForEveryOrder(receiver, placed), {
    timeoutMs: FOLLOW_UP_TIMEOUT_MS,
    intervalMs: POLL_MS,
    describe: () =>
      `the receiver got ${receiver.received().length} of ${placed.length} deliveries ` +
      `(${
        receiver
          .received()
          .map((d) => d.event.type)
          .join(', ') || 'none'
      })`,
  });
  const path = `/webhooks/${webhookId}/deliveries`;
  const deliveries = await waitFor(
    async () => {
      const list = await api.allPages<WebhookDelivery>(path, { token });
      return list.filter((d) => d.status === 'delivered').length >= placed.length ? list : undefined;
    },
    {
      timeoutMs: FOLLOW_UP_TIMEOUT_MS,
      intervalMs: POLL_MS,
      describe: () => `${path} lists fewer deliveries`,
    },
  );
  const statuses = [...new Set(deliveries.map((d) => `${d.status} (HTTP ${d.responseStatus})`))].join(', ');
  return done(
    undefined,
    `${received.length} signed deliveries received at ${receiver.url}, signatures valid ` +
      '(v1 HMAC-SHA256 of id.timestamp.body with the secret, timestamp within 5 min)',
    [
      `events: ${received.map((d) => `${d.event.type} (webhook-id ${d.webhookId.slice(0, 8)}…)`).join(', ')}`,
      `the server lists them: ${statuses}, ${deliveries.map((d) => d.attempts).join('/')} attempt(s)`,
    ],
  );
}

/** The delivery of each order's outcome event, once all have arrived; a bad signature fails at once. */
function receivedForEveryOrder(
  receiver: WebhookReceiver,
  placed: readonly Placed[],
): ReceivedDelivery[] | undefined {
  const refused = receiver.received().find((d) => !d.verdict.valid);
  if (refused) {
    throw new DemoFailure(`a webhook delivery failed verification: ${refused.verdict.reason ?? 'invalid'}`);
  }
  const matches = placed.map(({ order }) =>
    receiver
      .received()
      .find((d) => d.event.type === OUTCOME_EVENTS[order.status] && d.event.data.orderId === order.id),
  );
  return matches.every((d) => d !== undefined) ? matches : undefined;
}

async function replayDeadLetters(api: Api, adminToken: string): Promise<StepResult<void>> {
  const letters = await api.allPages<DeadLetter>('/admin/dead-letters', { token: adminToken });
  // Body `{}`: replay every dead letter (a filter would name a consumer or a type).
  const { replayed } = await api.expect<{ replayed: number }>(200, 'POST', '/admin/dead-letters/replay', {
    token: adminToken,
    body: {},
  });
  const line = `GET /admin/dead-letters listed ${letters.length}; POST /admin/dead-letters/replay {} replayed ${replayed}`;
  if (letters.length === 0) {
    return done(undefined, line, [
      'none to replay, as expected: nothing a client sends makes a handler fail for good (a short balance or ' +
        'stock is a reply, payment-failed or out-of-stock, not an error). A dead letter comes from a handler ' +
        'that still fails after 3 attempts (a notification channel down, a bug); once that is fixed, this ' +
        'replay puts it back through its consumer.',
    ]);
  }
  const shown = letters
    .slice(0, 5)
    .map((l) => `${l.consumer} ${typeof l.event === 'string' ? '(raw)' : l.event.type}: ${l.error}`);
  return done(undefined, line, shown);
}

// ---- helpers of the steps ----

/** POST /auth/login; a 429 (failed logins are limited) is waited out for a while, as its retry-after asks. */
async function logIn(api: Api, email: string, password: string): Promise<Reply> {
  for (let attempt = 1; ; attempt++) {
    const reply = await api.request('POST', '/auth/login', { body: { email, password } });
    if (reply.status !== 429 || attempt === 3) return reply;
    const seconds = Math.min(Number(reply.headers.get('retry-after')) || 10, 60);
    console.log(`    the failed-login limit answered 429: waiting ${seconds} s as its retry-after says`);
    await sleep(seconds * 1000);
  }
}

function expectSession(reply: Reply, what: string): Session {
  if (reply.status !== 200) throw new DemoFailure(`${what} answered ${describeReply(reply)}`);
  return reply.body as Session;
}

/** The `role` claim of a JWT (its payload is base64url JSON; the server checks the signature). */
function roleOf(token: string): string | undefined {
  try {
    const claims: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null && 'role' in claims
      ? String(claims.role)
      : undefined;
  } catch {
    return undefined;
  }
}

async function balanceOf(api: Api, token: string): Promise<number> {
  return (await api.expect<{ balanceCents: number }>(200, 'GET', '/payments/account', { token }))
    .balanceCents;
}

/**
 * POST /orders (202, pending). Orders prices from its own catalogue, fed by inventory's events, so
 * a product created a moment ago can still be unknown to it: ORDERS_UNKNOWN_SKU (which writes
 * nothing) is asked again for a while.
 */
async function placeOrder(
  api: Api,
  token: string,
  sku: string,
  quantity: number,
  idempotencyKey: string,
): Promise<Accepted> {
  let last = '';
  return waitFor(
    async () => {
      const reply = await api.request('POST', '/orders', {
        token,
        body: { items: [{ sku, quantity }] },
        headers: { 'idempotency-key': idempotencyKey },
      });
      if (reply.status === 202) return reply.body as Accepted;
      if (problemOf(reply)?.code !== 'ORDERS_UNKNOWN_SKU') {
        throw new DemoFailure(`POST /orders answered ${describeReply(reply)}`);
      }
      last = describeReply(reply);
      return undefined;
    },
    { timeoutMs: FOLLOW_UP_TIMEOUT_MS, intervalMs: POLL_MS, describe: () => `POST /orders: ${last}` },
  );
}

async function waitForTerminal(api: Api, token: string, id: string): Promise<TerminalOrder> {
  let last: Order | undefined;
  return waitFor(
    async () => {
      last = await api.expect<Order>(200, 'GET', `/orders/${id}`, { token });
      return isTerminal(last) ? last : undefined;
    },
    {
      timeoutMs: ORDER_TIMEOUT_MS,
      intervalMs: POLL_MS,
      describe: () => `order ${id} is still ${last?.status ?? 'unknown'}`,
    },
  );
}

/**
 * The types of the order's timeline, once it is whole: the other modules' messages reach the
 * timeline through the bus, so it is read until the outcome event's chain of causes leads back
 * to orders.order-placed with no link missing.
 */
async function waitForTimeline(api: Api, token: string, order: TerminalOrder): Promise<string[]> {
  const outcome = OUTCOME_EVENTS[order.status];
  let last: TimelineEntry[] = [];
  const entries = await waitFor(
    async () => {
      last = await api.expect<TimelineEntry[]>(200, 'GET', `/orders/${order.id}/timeline`, { token });
      return isWhole(last, outcome) ? last : undefined;
    },
    {
      timeoutMs: FOLLOW_UP_TIMEOUT_MS,
      intervalMs: POLL_MS,
      describe: () =>
        `the timeline of order ${order.id} is incomplete: ${last.map((e) => e.type).join(' → ')}`,
    },
  );
  return entries.map((entry) => entry.type);
}

function isWhole(entries: readonly TimelineEntry[], outcomeType: string): boolean {
  const byId = new Map(entries.map((entry) => [entry.id, entry]));
  let current = entries.find((entry) => entry.type === outcomeType);
  for (let hops = 0; current !== undefined && hops <= entries.length; hops++) {
    if (current.causationid === null) return current.type === 'orders.order-placed';
    current = byId.get(current.causationid);
  }
  return false;
}

function describeOrder(order: Order): string {
  return order.reason ? `${order.status} (${order.reason})` : order.status;
}

const money = (cents: number): string => (cents / 100).toFixed(2);

// ---- numbered steps ----

interface StepResult<T> {
  readonly value: T;
  /** The step's numbered line: its key figures. */
  readonly line: string;
  /** Indented lines under it. */
  readonly details: readonly string[];
}

const done = <T>(value: T, line: string, details: readonly string[] = []): StepResult<T> => ({
  value,
  line,
  details,
});

class StepFailed extends Error {
  constructor(
    readonly step: number,
    readonly title: string,
    cause: unknown,
  ) {
    super(`step ${step} (${title}): ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Numbers the steps and prints each one's line once it has done what it says. */
class Steps {
  count = 0;

  async run<T>(title: string, body: () => Promise<StepResult<T>>): Promise<T> {
    const number = ++this.count;
    let result: StepResult<T>;
    try {
      result = await body();
    } catch (error) {
      throw new StepFailed(number, title, error);
    }
    console.log(`${String(number).padStart(2)}. ${title}: ${result.line}`);
    for (const detail of result.details) console.log(`    ${detail}`);
    return result.value;
  }
}

// ---- command line ----

function readSettings(argv: readonly string[], env: NodeJS.ProcessEnv): Settings {
  let values: { url?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { url: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    throw new DemoFailure(`${causeOf(error)}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const raw = values.url ?? env.DEMO_URL ?? DEFAULT_URL;
  if (!URL.canParse(raw)) throw new DemoFailure(`--url / DEMO_URL: not a URL (got "${raw}")`);
  return {
    baseUrl: raw.replace(/\/+$/, ''),
    admin: {
      email: env.ADMIN_EMAIL ?? DEFAULT_ADMIN.email,
      password: env.ADMIN_PASSWORD ?? DEFAULT_ADMIN.password,
    },
  };
}

const USAGE = `usage: npm run demo [-- --url <base url>]
  --url <url>, DEMO_URL        the running server (default ${DEFAULT_URL})
  ADMIN_EMAIL, ADMIN_PASSWORD  the admin the server was started with (default ${DEFAULT_ADMIN.email} / ${DEFAULT_ADMIN.password})
The server: ${SERVER_COMMAND}`;

async function main(): Promise<number> {
  const steps = new Steps();
  try {
    await runDemo(readSettings(process.argv.slice(2), process.env), steps);
    return 0;
  } catch (error) {
    if (error instanceof StepFailed && error.cause instanceof DemoFailure) {
      console.error(`\nDemo failed at ${error.message}`);
    } else if (error instanceof DemoFailure) {
      console.error(`\nDemo failed: ${error.message}`);
    } else {
      // Not a failure the demo foresaw: the whole error, for a bug report.
      console.error('\nDemo failed unexpectedly:', error);
    }
    return 1;
  }
}

// process.exit: the fetch client's keep-alive sockets would otherwise hold the process a while.
process.exit(await main());
