/**
 * The order scenario of the modules issue, over HTTP only, as a result that can be compared
 * between deployments: the three outcomes of the checkout saga with their balances, account
 * streams, stock, notifications, analytics and the timeline of the cancelled order.
 */
import { expect } from 'vitest';
import { type Api, suffix, until } from './api.js';

export const EXPECTED_SUMMARY = {
  ordersPlaced: 3,
  ordersConfirmed: 1,
  ordersPaymentFailed: 1,
  ordersCancelled: 1,
  revenueCents: 2500,
  refundedCents: 1000,
};

export const OUT_OF_STOCK_FLOW = [
  'orders.order-placed',
  'payments.charge-payment',
  'payments.payment-completed',
  'inventory.reserve-stock',
  'inventory.out-of-stock',
  'payments.refund-payment',
  'payments.payment-refunded',
  'orders.order-cancelled',
];

export interface ScenarioResult {
  readonly outcomes: Record<string, { status: string; reason: string | null; totalCents: number }>;
  readonly balances: Record<string, number>;
  readonly accountEvents: Record<string, string[]>;
  readonly stock: Record<string, { stock: number; reserved: number }>;
  readonly notifications: Record<string, string[]>;
  readonly summary: unknown;
  readonly cancelledTimeline: string[];
  readonly idempotentRepeat: boolean;
}

const KINDS = {
  confirmed: ['order-confirmed'],
  paymentFailed: ['order-payment-failed'],
  outOfStock: ['order-cancelled', 'payment-refunded'],
};

/** Runs the scenario with fresh users and products; `timeoutMs` bounds each wait. */
export async function runScenario(api: Api, admin: string, timeoutMs: number): Promise<ScenarioResult> {
  const tag = suffix().toUpperCase();
  const skus = { mug: `MUG-${tag}`, lamp: `LAMP-${tag}`, plenty: `PLENTY-${tag}`, scarce: `SCARCE-${tag}` };
  await Promise.all([
    api.createProduct(admin, skus.mug, 1250, 10),
    api.createProduct(admin, skus.lamp, 1000, 5),
    api.createProduct(admin, skus.plenty, 300, 5),
    api.createProduct(admin, skus.scarce, 200, 1),
  ]);
  const [ann, bob, cat] = await Promise.all([api.register('Ann'), api.register('Bob'), api.register('Cat')]);
  const users = { confirmed: ann, paymentFailed: bob, outOfStock: cat };
  expect(await api.deposit(ann.token, 5000)).toBe(5000);
  expect(await api.deposit(bob.token, 500)).toBe(500);
  expect(await api.deposit(cat.token, 2000)).toBe(2000);

  const key = { 'idempotency-key': `first-${tag}` };
  const correlation = `split-${tag}`;
  const [first, second, third] = await Promise.all([
    api.placeOrder(ann.token, [{ sku: skus.mug, quantity: 2 }], key),
    api.placeOrder(bob.token, [{ sku: skus.lamp, quantity: 1 }]),
    api.placeOrder(
      cat.token,
      [
        { sku: skus.plenty, quantity: 2 },
        { sku: skus.scarce, quantity: 2 },
      ],
      {
        'x-correlation-id': correlation,
      },
    ),
  ]);
  const repeat = await api.placeOrder(ann.token, [{ sku: skus.mug, quantity: 2 }], key);
  const orders = { confirmed: first, paymentFailed: second, outOfStock: third };

  const outcomes: ScenarioResult['outcomes'] = {};
  const balances: Record<string, number> = {};
  const accountEvents: Record<string, string[]> = {};
  const notifications: Record<string, string[]> = {};
  for (const [role, user] of Object.entries(users)) {
    const order = orders[role as keyof typeof orders];
    const done = (await api.waitForTerminal(user.token, [order.id], timeoutMs)).get(order.id);
    outcomes[role] = { status: done.status, reason: done.reason ?? null, totalCents: done.totalCents };
    balances[role] = await api.balance(user.token);
    accountEvents[role] = (await api.accountEvents(user.token)).map((e) => String(e.type));
    const expectedKinds = KINDS[role as keyof typeof KINDS];
    notifications[role] = await until(
      () => api.notificationKinds(user.token),
      (kinds) => kinds.length >= expectedKinds.length,
      timeoutMs,
    );
  }
  const stock: ScenarioResult['stock'] = {};
  for (const [name, sku] of Object.entries(skus)) {
    const { stock: available, reserved } = await api.product(sku);
    stock[name] = { stock: available, reserved };
  }
  const summary = await until(
    () => api.expect(200, 'GET', '/analytics/summary', { token: admin }),
    (value) => JSON.stringify(value) === JSON.stringify(EXPECTED_SUMMARY),
    timeoutMs,
  ).catch(() => api.expect(200, 'GET', '/analytics/summary', { token: admin }));
  const timeline = await until(
    () => api.timelineTypes(cat.token, third.id),
    (value) => value.types.includes('orders.order-cancelled'),
    timeoutMs,
  );
  expect(timeline.correlationIds).toEqual([correlation]);
  return {
    outcomes,
    balances,
    accountEvents,
    stock,
    notifications,
    summary,
    cancelledTimeline: timeline.types,
    idempotentRepeat: repeat.id === first.id,
  };
}

/** What the scenario must give, in one process or split. */
export const EXPECTED_RESULT: ScenarioResult = {
  outcomes: {
    confirmed: { status: 'confirmed', reason: null, totalCents: 2500 },
    paymentFailed: { status: 'payment_failed', reason: 'insufficient_funds', totalCents: 1000 },
    outOfStock: { status: 'cancelled', reason: 'out_of_stock', totalCents: 1000 },
  },
  balances: { confirmed: 2500, paymentFailed: 500, outOfStock: 2000 },
  accountEvents: {
    confirmed: ['FundsDeposited', 'PaymentCharged'],
    paymentFailed: ['FundsDeposited', 'PaymentFailed'],
    outOfStock: ['FundsDeposited', 'PaymentCharged', 'PaymentRefunded'],
  },
  stock: {
    mug: { stock: 8, reserved: 2 },
    lamp: { stock: 5, reserved: 0 },
    plenty: { stock: 5, reserved: 0 },
    scarce: { stock: 1, reserved: 0 },
  },
  notifications: KINDS,
  summary: EXPECTED_SUMMARY,
  cancelledTimeline: OUT_OF_STOCK_FLOW,
  idempotentRepeat: true,
};
