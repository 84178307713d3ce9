/**
 * The order business end to end, over HTTP only (CONTRACT sections 3 and 4), on every transport
 * that can run here: the three outcomes of the `orders.checkout` saga with exact balances and
 * stock, concurrency without overdraft, idempotent order placement, the event-sourced balance as of
 * a past time, the causal timeline of a cancelled order, one notification per terminal outcome and
 * per refund, analytics that match the orders (and survive a rebuild), and the step timeout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  allModules,
  describeOnTransports,
  E2eApp,
  type Json,
  type Order,
  TERMINAL_STATUSES,
  type TimelineEntry,
  type User,
  uniqueSuffix,
} from './harness.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Orders fired at once by one user in the concurrency test. */
const CONCURRENT_ORDERS = 50;

// ---- the account's event stream (GET /payments/account/events) ----

interface AccountReplay {
  /** Balance after each event, oldest first. */
  readonly balances: number[];
  readonly deposits: number;
  /** Charges and refunds per order id (amounts). */
  readonly charges: Map<string, number[]>;
  readonly refunds: Map<string, number[]>;
}

const kindOf = (event: Json): 'deposit' | 'charge' | 'refund' | 'other' => {
  const type = String(event.type ?? '');
  if (/deposit/i.test(type)) return 'deposit';
  if (/refund/i.test(type)) return 'refund';
  if (/charge|payment-?completed/i.test(type)) return 'charge';
  return 'other';
};

/** Replays the stream: the balance after every event, and the charges and refunds of each order. */
function replayAccount(events: readonly Json[]): AccountReplay {
  let balance = 0;
  let deposits = 0;
  const balances: number[] = [];
  const charges = new Map<string, number[]>();
  const refunds = new Map<string, number[]>();
  const add = (map: Map<string, number[]>, key: string, amount: number) =>
    map.set(key, [...(map.get(key) ?? []), amount]);
  events.forEach((event, index) => {
    // Versions count up from 1 without a gap (optimistic concurrency on one stream).
    expect(event.version, JSON.stringify(event)).toBe(index + 1);
    const amount = Number(event.data?.amountCents ?? 0);
    const orderId = String(event.data?.orderId ?? '');
    switch (kindOf(event)) {
      case 'deposit':
        balance += amount;
        deposits += amount;
        break;
      case 'charge':
        balance -= amount;
        add(charges, orderId, amount);
        break;
      case 'refund':
        balance += amount;
        add(refunds, orderId, amount);
        break;
      default:
    }
    balances.push(balance);
  });
  return { balances, deposits, charges, refunds };
}

/** Exact money invariants of one user's account against their (terminal) orders. */
async function expectAccountMatchesOrders(app: E2eApp, user: User, orders: readonly Order[]): Promise<void> {
  const replay = replayAccount(await app.accountEvents(user.token));
  const balance = await app.balance(user.token);
  const confirmedTotal = orders
    .filter((o) => o.status === 'confirmed')
    .reduce((sum, o) => sum + o.totalCents, 0);
  // No overdraft at any point of the stream, and the stream replays to the balance.
  expect(Math.min(0, ...replay.balances)).toBe(0);
  expect(replay.balances.at(-1) ?? 0).toBe(balance);
  // Balance = deposits − the totals of confirmed orders.
  expect(balance).toBe(replay.deposits - confirmedTotal);
  for (const order of orders) {
    const charged = replay.charges.get(order.id) ?? [];
    const refunded = replay.refunds.get(order.id) ?? [];
    const context = `${order.id} ${order.status}: charged ${charged} refunded ${refunded}`;
    // A charge at most once per order, and a refund at most once, of the whole charge.
    expect(charged.length, context).toBeLessThanOrEqual(1);
    expect(refunded.length, context).toBeLessThanOrEqual(1);
    if (order.status === 'confirmed') {
      expect(charged, context).toEqual([order.totalCents]);
      expect(refunded, context).toEqual([]);
    } else if (order.status === 'payment_failed') {
      expect(charged, context).toEqual([]);
      expect(refunded, context).toEqual([]);
    } else {
      expect(order.status, context).toBe('cancelled');
      expect(
        refunded.reduce((a, b) => a + b, 0),
        context,
      ).toBe(charged.reduce((a, b) => a + b, 0));
    }
  }
}

const SAGA_TYPES_OUT_OF_STOCK = [
  'orders.order-placed',
  'payments.charge-payment',
  'payments.payment-completed',
  'inventory.reserve-stock',
  'inventory.out-of-stock',
  'payments.refund-payment',
  'payments.payment-refunded',
  'orders.order-cancelled',
];

const TERMINAL_EVENT_TYPES = [
  'orders.order-confirmed',
  'orders.order-payment-failed',
  'orders.order-cancelled',
];

/**
 * Causal order: each entry but the first is caused by an earlier one (what a saga step timeout
 * sends, by the request left unanswered); one correlation id.
 */
function expectCausalTimeline(timeline: readonly TimelineEntry[], correlationId: string): void {
  const seen = new Set<string>();
  timeline.forEach((entry, index) => {
    const context = JSON.stringify(timeline, null, 1);
    expect(entry, context).toMatchObject({
      id: expect.any(String),
      type: expect.any(String),
      source: expect.any(String),
      time: expect.any(String),
      correlationid: correlationId,
    });
    expect(Number.isNaN(Date.parse(entry.time)), context).toBe(false);
    if (index === 0) expect(entry.causationid ?? null, context).toBeNull();
    else
      expect(
        seen.has(entry.causationid ?? ''),
        `${entry.type} is caused by an earlier entry\n${context}`,
      ).toBe(true);
    expect(seen.has(entry.id), `duplicate entry ${entry.id}`).toBe(false);
    seen.add(entry.id);
  });
}

describeOnTransports(
  'checkout over HTTP',
  (suite) => {
    const broker = suite.transport !== 'memory';
    const waitMs = broker ? 60_000 : 20_000;
    const testTimeout = broker ? 240_000 : 60_000;

    // The users of the tests below, registered at once (each test takes a fresh one).
    beforeAll(() => suite.app().prepareUsers(11), 120_000);

    it(
      'confirms an order with enough money and stock: balance debited by the total, stock moved to reserved',
      async () => {
        const app = suite.app();
        const user = await app.registerUser();
        const product = await app.createProduct({ priceCents: 1250, stock: 10 });
        expect(await app.deposit(user.token, 5000)).toBe(5000);

        const { reply, order } = await app.placeOrder(user.token, [{ sku: product.sku, quantity: 2 }]);
        expect(reply.status).toBe(202);
        expect(order).toEqual({ id: expect.any(String), status: 'pending', totalCents: 2500 });

        const done = await app.waitForTerminal(user.token, order.id, waitMs);
        expect(done).toMatchObject({
          id: order.id,
          userId: user.id,
          status: 'confirmed',
          totalCents: 2500,
          items: [{ sku: product.sku, quantity: 2 }],
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
        });
        expect(await app.account(user.token)).toMatchObject({ balanceCents: 2500 });
        expect(await app.product(product.sku)).toEqual({ ...product, stock: 8, reserved: 2 });
        await expectAccountMatchesOrders(app, user, [done]);
      },
      testTimeout,
    );

    it(
      'fails an order the balance cannot pay: payment_failed, balance and stock unchanged',
      async () => {
        const app = suite.app();
        const user = await app.registerUser();
        const product = await app.createProduct({ priceCents: 1000, stock: 5 });
        await app.deposit(user.token, 500);

        const { order } = await app.placeOrder(user.token, [{ sku: product.sku, quantity: 1 }]);
        expect(order).toMatchObject({ status: 'pending', totalCents: 1000 });
        const done = await app.waitForTerminal(user.token, order.id, waitMs);
        expect(done).toMatchObject({ status: 'payment_failed', totalCents: 1000 });
        expect(await app.balance(user.token)).toBe(500);
        expect(await app.product(product.sku)).toEqual({ ...product, stock: 5, reserved: 0 });
        await expectAccountMatchesOrders(app, user, [done]);
      },
      testTimeout,
    );

    it(
      'cancels an order short of stock: out_of_stock, the refund restores the balance, no line reserved',
      async () => {
        const app = suite.app();
        const user = await app.registerUser();
        const plenty = await app.createProduct({ priceCents: 300, stock: 5 });
        const scarce = await app.createProduct({ priceCents: 200, stock: 1 });
        await app.deposit(user.token, 2000);

        const { order } = await app.placeOrder(user.token, [
          { sku: plenty.sku, quantity: 2 },
          { sku: scarce.sku, quantity: 2 },
        ]);
        expect(order).toMatchObject({ status: 'pending', totalCents: 1000 });
        const done = await app.waitForTerminal(user.token, order.id, waitMs);
        expect(done).toMatchObject({ status: 'cancelled', reason: 'out_of_stock', totalCents: 1000 });
        expect(await app.balance(user.token)).toBe(2000);
        // Every line or none: the line that had stock is not left reserved either.
        expect(await app.product(plenty.sku)).toEqual({ ...plenty, stock: 5, reserved: 0 });
        expect(await app.product(scarce.sku)).toEqual({ ...scarce, stock: 1, reserved: 0 });
        const replay = replayAccount(await app.accountEvents(user.token));
        expect(replay.charges.get(order.id)).toEqual([1000]);
        expect(replay.refunds.get(order.id)).toEqual([1000]);
        await expectAccountMatchesOrders(app, user, [done]);
      },
      testTimeout,
    );

    it(
      'counts a sku ordered on two lines against its stock once: 1 + 1 of a product with 1 in stock is out of stock',
      async () => {
        const app = suite.app();
        const user = await app.registerUser();
        const product = await app.createProduct({ priceCents: 150, stock: 1 });
        await app.deposit(user.token, 1000);
        const { order } = await app.placeOrder(user.token, [
          { sku: product.sku, quantity: 1 },
          { sku: product.sku, quantity: 1 },
        ]);
        expect(order.totalCents).toBe(300);
        const done = await app.waitForTerminal(user.token, order.id, waitMs);
        expect(done).toMatchObject({ status: 'cancelled', reason: 'out_of_stock' });
        expect(await app.product(product.sku)).toEqual({ ...product, stock: 1, reserved: 0 });
        expect(await app.balance(user.token)).toBe(1000);
      },
      testTimeout,
    );

    it(
      'counts every one of 20 concurrent deposits (one stream, versions 1..20)',
      async () => {
        const app = suite.app();
        const user = await app.registerUser();
        const amounts = Array.from({ length: 20 }, (_, i) => 100 + i);
        const replies = await Promise.all(
          amounts.map((amountCents) =>
            app.call('POST', '/payments/deposits', { token: user.token, body: { amountCents } }),
          ),
        );
        expect(replies.map((r) => r.status)).toEqual(amounts.map(() => 201));
        const total = amounts.reduce((a, b) => a + b, 0);
        expect(Math.max(...replies.map((r) => r.body.balanceCents))).toBe(total);
        expect(await app.account(user.token)).toEqual({ balanceCents: total, version: 20 });
        const replay = replayAccount(await app.accountEvents(user.token));
        expect(replay.deposits).toBe(total);
      },
      testTimeout,
    );

    it(
      'shows the timeline of a cancelled order in causal order, all with the request correlation id',
      async () => {
        const app = suite.app();
        const user = await app.registerUser();
        const product = await app.createProduct({ priceCents: 450, stock: 1 });
        await app.deposit(user.token, 1000);
        const correlationId = `e2e-timeline-${uniqueSuffix()}`;

        const { reply, order } = await app.placeOrder(user.token, [{ sku: product.sku, quantity: 2 }], {
          correlationId,
        });
        expect(reply.headers['x-correlation-id']).toBe(correlationId);
        const done = await app.waitForTerminal(user.token, order.id, waitMs);
        expect(done).toMatchObject({ status: 'cancelled', reason: 'out_of_stock' });

        const timeline = await eventuallyValue(
          () => app.timeline(user.token, order.id),
          (entries) => entries.some((e) => e.type === 'orders.order-cancelled'),
          waitMs,
        );
        const sagaTypes = timeline.map((e) => e.type).filter((type) => !type.startsWith('notifications.'));
        expect(sagaTypes).toEqual(SAGA_TYPES_OUT_OF_STOCK);
        expectCausalTimeline(timeline, correlationId);
        // Each message names its publisher: events their owner, the saga's commands the orders module.
        const sources = Object.fromEntries(timeline.map((e) => [e.type, e.source]));
        expect(sources).toMatchObject({
          'orders.order-placed': 'orders',
          'payments.charge-payment': 'orders',
          'payments.payment-completed': 'payments',
          'inventory.reserve-stock': 'orders',
          'inventory.out-of-stock': 'inventory',
          'payments.refund-payment': 'orders',
          'payments.payment-refunded': 'payments',
          'orders.order-cancelled': 'orders',
        });
      },
      testTimeout,
    );

    it(
      `takes ${CONCURRENT_ORDERS} concurrent orders per user: no overdraft, all terminal, as many confirmed as money and stock allow`,
      async () => {
        const app = suite.app();
        const price = 700;
        const deposit = 10_000;
        // One user is bound by money (14 of 50 affordable, stock ample), one by stock (10 in stock).
        const scenarios = await Promise.all(
          [100, 10].map(async (stock) => ({
            stock,
            user: await app.registerUser(),
            product: await app.createProduct({ priceCents: price, stock }),
          })),
        );
        for (const { user } of scenarios) await app.deposit(user.token, deposit);

        const placed = await Promise.all(
          scenarios.map(({ user, product }) =>
            Promise.all(
              Array.from({ length: CONCURRENT_ORDERS }, () =>
                app.placeOrder(user.token, [{ sku: product.sku, quantity: 1 }]).then(({ order }) => order.id),
              ),
            ),
          ),
        );
        for (const [index, { user, product, stock }] of scenarios.entries()) {
          const ids = placed[index] ?? [];
          expect(new Set(ids).size).toBe(CONCURRENT_ORDERS);
          const orders = await app.waitForAllTerminal(user.token, ids, broker ? 180_000 : 60_000);
          const count = (status: string) => orders.filter((o) => o.status === status).length;
          const confirmed = count('confirmed');
          const expected = Math.min(Math.floor(deposit / price), stock);
          const context = `stock ${stock}: ${TERMINAL_STATUSES.map((s) => `${s} ${count(s)}`).join(', ')}`;
          expect(confirmed, context).toBe(expected);
          expect(confirmed + count('payment_failed') + count('cancelled'), context).toBe(CONCURRENT_ORDERS);
          for (const order of orders.filter((o) => o.status === 'cancelled')) {
            expect(order.reason, context).toBe('out_of_stock');
          }
          expect(await app.balance(user.token), context).toBe(deposit - confirmed * price);
          expect(await app.product(product.sku), context).toEqual({
            ...product,
            stock: stock - confirmed,
            reserved: confirmed,
          });
          await expectAccountMatchesOrders(app, user, orders);
        }
      },
      broker ? 400_000 : 90_000,
    );

    it(
      'places one order for one Idempotency-Key and user, and charges it once',
      async () => {
        const app = suite.app();
        const user = await app.registerUser();
        const product = await app.createProduct({ priceCents: 400, stock: 20 });
        await app.deposit(user.token, 5000);
        const items = [{ sku: product.sku, quantity: 1 }];

        const key = `idem-${uniqueSuffix()}`;
        const first = await app.placeOrder(user.token, items, { idempotencyKey: key });
        expect(first.reply.status).toBe(202);
        const again = await app.placeOrder(user.token, items, { idempotencyKey: key });
        expect(again.order.id).toBe(first.order.id);

        // The same key twice at the same moment: still one order.
        const raceKey = `idem-race-${uniqueSuffix()}`;
        const race = await Promise.all(
          [0, 1].map(() => app.placeOrder(user.token, items, { idempotencyKey: raceKey })),
        );
        expect(race[1]?.order.id).toBe(race[0]?.order.id);
        const raceId = race[0]?.order.id ?? '';
        expect(raceId).not.toBe(first.order.id);

        await app.waitForTerminal(user.token, first.order.id, waitMs);
        await app.waitForTerminal(user.token, raceId, waitMs);
        // After the order finished, the key still names it.
        const late = await app.placeOrder(user.token, items, { idempotencyKey: key });
        expect(late.order.id).toBe(first.order.id);

        const orders = await app.orders(user.token);
        expect(orders.map((o) => o.id).sort()).toEqual([first.order.id, raceId].sort());
        expect(orders.map((o) => o.status)).toEqual(['confirmed', 'confirmed']);
        const replay = replayAccount(await app.accountEvents(user.token));
        expect(replay.charges.get(first.order.id)).toEqual([400]);
        expect(replay.charges.get(raceId)).toEqual([400]);
        expect(await app.balance(user.token)).toBe(5000 - 800);
        expect(await app.product(product.sku)).toMatchObject({ stock: 18, reserved: 2 });

        // The same key from another user is another order.
        const other = await app.registerUser();
        const theirs = await app.placeOrder(other.token, items, { idempotencyKey: key });
        expect(theirs.order.id).not.toBe(first.order.id);
        expect(await app.waitForTerminal(other.token, theirs.order.id, waitMs)).toMatchObject({
          status: 'payment_failed',
        });
      },
      testTimeout,
    );

    it(
      'answers the balance as of a past time (GET /payments/account?at=)',
      async () => {
        const app = suite.app();
        const user = await app.registerUser();
        const product = await app.createProduct({ priceCents: 600, stock: 3 });
        const tick = async () => {
          await sleep(15);
          const now = new Date();
          await sleep(15);
          return now;
        };
        const beforeAll = await tick();
        await app.deposit(user.token, 1000);
        const afterFirst = await tick();
        await app.deposit(user.token, 500);
        const afterSecond = await tick();
        const { order } = await app.placeOrder(user.token, [{ sku: product.sku, quantity: 1 }]);
        expect(await app.waitForTerminal(user.token, order.id, waitMs)).toMatchObject({
          status: 'confirmed',
        });
        const afterOrder = await tick();

        expect(await app.account(user.token, beforeAll.toISOString())).toEqual({
          balanceCents: 0,
          version: 0,
        });
        expect(await app.account(user.token, afterFirst.toISOString())).toEqual({
          balanceCents: 1000,
          version: 1,
        });
        expect(await app.account(user.token, afterSecond.toISOString())).toEqual({
          balanceCents: 1500,
          version: 2,
        });
        // The same instant written with another zone offset.
        expect(await app.account(user.token, withOffset(afterSecond, 2 * 60))).toEqual({
          balanceCents: 1500,
          version: 2,
        });
        expect((await app.account(user.token, afterOrder.toISOString())).balanceCents).toBe(900);
        expect((await app.account(user.token)).balanceCents).toBe(900);
      },
      testTimeout,
    );

    it(
      'sends exactly one notification per terminal outcome, and one per refund',
      async () => {
        const app = suite.app();
        expect(app.users.length).toBeGreaterThan(0);
        await eventuallyValue(
          async () => {
            for (const user of app.users) await expectNotificationsMatch(app, user);
            return true;
          },
          () => true,
          waitMs,
        );
      },
      testTimeout,
    );

    it(
      'counts every order in the analytics summary, and rebuilds the same summary from its own log',
      async () => {
        const app = suite.app();
        const expected = { ordersPlaced: 0, ordersConfirmed: 0, ordersPaymentFailed: 0, ordersCancelled: 0 };
        let revenueCents = 0;
        let refundedCents = 0;
        for (const user of app.users) {
          const orders = await app.orders(user.token);
          for (const order of orders) {
            expect(TERMINAL_STATUSES as readonly string[]).toContain(order.status);
            expected.ordersPlaced += 1;
            if (order.status === 'confirmed') {
              expected.ordersConfirmed += 1;
              revenueCents += order.totalCents;
            }
            if (order.status === 'payment_failed') expected.ordersPaymentFailed += 1;
            if (order.status === 'cancelled') expected.ordersCancelled += 1;
          }
          const replay = replayAccount(await app.accountEvents(user.token));
          for (const amounts of replay.refunds.values()) refundedCents += amounts.reduce((a, b) => a + b, 0);
        }
        expect(expected.ordersPlaced).toBe(app.placed.size);
        const summary = { ...expected, revenueCents, refundedCents };

        await eventuallyValue(
          async () => expect(await app.summary()).toEqual(summary),
          () => true,
          waitMs,
        );
        const rebuilt = await app.expectStatus(200, 'POST', '/analytics/rebuild', {
          token: await app.adminToken(),
        });
        expect(rebuilt).toEqual(summary);
        expect(await app.summary()).toEqual(summary);
      },
      testTimeout,
    );
  },
  { alsoOnPostgres: true },
);

describe('checkout step timeout (memory; inventory not running in this process)', () => {
  it('cancels the order with reason timeout and refunds the charge', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'e2e-timeout-'));
    let app: E2eApp | undefined;
    try {
      // First with every module: the orders catalogue learns the product, the user has money.
      app = await E2eApp.start({ dataDir, keepData: true });
      const user = await app.registerUser();
      const product = await app.createProduct({ priceCents: 900, stock: 5 });
      await app.deposit(user.token, 2000);
      const probe = await app.placeOrder(user.token, [{ sku: product.sku, quantity: 1 }]);
      expect(await app.waitForTerminal(user.token, probe.order.id)).toMatchObject({ status: 'confirmed' });
      await app.close();

      // Then the same data without inventory: reserve-stock is never answered.
      const withoutInventory = allModules().filter((name) => name !== 'inventory');
      app = await E2eApp.start({
        dataDir,
        keepData: true,
        modules: withoutInventory,
        sagaStepTimeoutMs: 300,
      });
      const started = Date.now();
      const { order } = await app.placeOrder(user.token, [{ sku: product.sku, quantity: 1 }]);
      const done = await app.waitForTerminal(user.token, order.id, 15_000);
      expect(done).toMatchObject({ status: 'cancelled', reason: 'timeout', totalCents: 900 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(await app.balance(user.token)).toBe(1100);
      const replay = replayAccount(await app.accountEvents(user.token));
      expect(replay.refunds.get(order.id)?.reduce((a, b) => a + b, 0) ?? 0).toBe(
        replay.charges.get(order.id)?.reduce((a, b) => a + b, 0) ?? 0,
      );
      // Its own saga steps in order (reserve-stock sent, never answered, then compensated).
      const timeline = await eventuallyValue(
        () => app?.timeline(user.token, order.id) ?? Promise.resolve([]),
        (entries) => entries.some((e) => e.type === 'orders.order-cancelled'),
        10_000,
      );
      const types = timeline.map((e) => e.type);
      expect(
        types.filter((t) =>
          ['orders.order-placed', 'inventory.reserve-stock', 'orders.order-cancelled'].includes(t),
        ),
      ).toEqual(['orders.order-placed', 'inventory.reserve-stock', 'orders.order-cancelled']);
      expect(types).not.toContain('inventory.stock-reserved');
      expect(types).not.toContain('inventory.out-of-stock');
      expectCausalTimeline(timeline, timeline[0]?.correlationid ?? '');
      const reserve = timeline.find((e) => e.type === 'inventory.reserve-stock');
      const refund = timeline.find((e) => e.type === 'payments.refund-payment');
      expect(refund?.causationid).toBe(reserve?.id); // the timeout compensates the unanswered request
      await eventuallyValue(
        async () => {
          await expectNotificationsMatch(app as E2eApp, user);
          return true;
        },
        () => true,
        10_000,
      );
    } finally {
      await app?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

// ---- helpers ----

/** Retries `read` until `done(value)` holds (or an assertion inside stops throwing). */
async function eventuallyValue<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await read();
      if (done(value)) return value;
      if (Date.now() > deadline)
        throw new Error(`condition not met after ${timeoutMs} ms: ${JSON.stringify(value)}`);
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await sleep(50);
  }
}

/**
 * The user's notifications are exactly: one for each order's terminal event, plus one for each
 * refund of an amount > 0 (matched by `eventId` to the events of the order's timeline).
 */
async function expectNotificationsMatch(app: E2eApp, user: User): Promise<void> {
  const notifications = await app.notifications(user.token);
  for (const notification of notifications) {
    expect(notification).toMatchObject({
      id: expect.any(String),
      eventId: expect.any(String),
      kind: expect.any(String),
      subject: expect.any(String),
      body: expect.any(String),
      createdAt: expect.any(String),
    });
  }
  const replay = replayAccount(await app.accountEvents(user.token));
  const expected: string[] = [];
  const described: Record<string, string> = {};
  const orders = await app.orders(user.token);
  for (const order of orders) {
    expect(TERMINAL_STATUSES as readonly string[]).toContain(order.status);
    const timeline = await app.timeline(user.token, order.id);
    const terminal = timeline.filter((e) => TERMINAL_EVENT_TYPES.includes(e.type));
    expect(terminal.length, `${order.id}: one terminal event in ${JSON.stringify(timeline)}`).toBe(1);
    for (const entry of terminal) {
      expected.push(entry.id);
      described[entry.id] = `${entry.type} of ${order.id}`;
    }
    const refunded = (replay.refunds.get(order.id) ?? []).some((amount) => amount > 0);
    if (refunded) {
      for (const entry of timeline.filter((e) => e.type === 'payments.payment-refunded')) {
        expected.push(entry.id);
        described[entry.id] = `${entry.type} of ${order.id}`;
      }
    }
  }
  const label = (id: string) => described[id] ?? `unexpected eventId ${id}`;
  const actual = notifications.map((n) => label(String(n.eventId)));
  expect(actual.sort(), `notifications of ${user.email}`).toEqual(expected.map(label).sort());
}

/** The same instant as an ISO-8601 string in the zone `minutes` east of UTC. */
function withOffset(date: Date, minutes: number): string {
  const local = new Date(date.getTime() + minutes * 60_000).toISOString().replace('Z', '');
  const abs = Math.abs(minutes);
  const zone = `${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${local}${zone}`;
}
