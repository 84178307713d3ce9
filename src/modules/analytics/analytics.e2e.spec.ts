import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defineModule,
  type HttpApp,
  loadConfig,
  type MessageDraft,
  type ModuleContext,
} from '../../kernel/index.js';
import {
  createHost,
  envelopeOf,
  eventually,
  handlerContextWithoutInbox,
} from '../../kernel/testing/index.js';
import { orderCancelled, orderConfirmed, orderPaymentFailed, orderPlaced } from '../orders/contracts.js';
import { fundsDeposited, paymentCompleted, paymentFailed, paymentRefunded } from '../payments/contracts.js';
import { onBusinessEvent } from './handlers/on-business-event.js';
import { analyticsModule } from './index.js';

/** Stand-ins that publish what the real orders and payments modules would. */
const publishers = [
  defineModule({
    name: 'orders',
    messages: [orderPlaced, orderConfirmed, orderPaymentFailed, orderCancelled],
  }),
  defineModule({
    name: 'payments',
    messages: [fundsDeposited, paymentCompleted, paymentFailed, paymentRefunded],
  }),
];

let app: HttpApp;
let dataDir: string;
const contextOf = (name: string): ModuleContext => {
  const found = app.kernel.modules.find((m) => m.definition.name === name);
  if (!found) throw new Error(`${name} not running`);
  return found.context;
};
const publish = (module: string, ...drafts: MessageDraft[]) =>
  contextOf(module).transact((tx) => tx.stage(...drafts));
const token = (role: 'user' | 'admin') => `Bearer ${app.jwt.sign({ sub: `${role}-1`, role })}`;
const summary = async () =>
  (await app.inject({ url: '/analytics/summary', headers: { authorization: token('admin') } })).json();
const rebuild = () =>
  app.inject({ method: 'POST', url: '/analytics/rebuild', headers: { authorization: token('admin') } });
const logged = () => contextOf('analytics').db.all(sql`SELECT event_id FROM analytics_event_log`).length;
async function settled(): Promise<void> {
  await eventually(async () => {
    expect((await app.kernel.outboxStats()).every((s) => s.pending === 0)).toBe(true);
    expect((await app.kernel.transport.stats()).every((s) => s.depth === 0)).toBe(true);
  });
}

const item = { sku: 'A', quantity: 1, priceCents: 100 };
const order = (orderId: string, totalCents: number) => ({ orderId, userId: 'u1', totalCents });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'analytics-e2e-'));
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, ['analytics', 'orders', 'payments']);
  app = await createHost(config, { catalogue: [analyticsModule, ...publishers] });
});
afterAll(async () => {
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('analytics', () => {
  it('is for admins only', async () => {
    for (const [method, url] of [
      ['GET', '/analytics/summary'],
      ['POST', '/analytics/rebuild'],
    ] as const) {
      expect((await app.inject({ method, url })).statusCode).toBe(401);
      const user = await app.inject({ method, url, headers: { authorization: token('user') } });
      expect(user.statusCode).toBe(403);
      expect(user.json().code).toBe('AUTH_ADMIN_ONLY');
    }
  });

  it('projects order and payment events into the summary, and a rebuild gives the same numbers', async () => {
    expect(await summary()).toEqual({
      ordersPlaced: 0,
      ordersConfirmed: 0,
      ordersPaymentFailed: 0,
      ordersCancelled: 0,
      revenueCents: 0,
      refundedCents: 0,
    });
    await publish(
      'orders',
      ...['o1', 'o2', 'o3', 'o4'].map((id) => orderPlaced({ ...order(id, 300), items: [item] })),
      orderConfirmed(order('o1', 300)),
      orderConfirmed(order('o2', 700)),
      orderPaymentFailed({ ...order('o3', 300), reason: 'insufficient_funds' }),
      orderCancelled({ ...order('o4', 500), reason: 'out_of_stock' }),
    );
    await publish(
      'payments',
      fundsDeposited({ userId: 'u1', amountCents: 5000, balanceCents: 5000 }),
      paymentCompleted({ orderId: 'o4', userId: 'u1', amountCents: 500, balanceCents: 4500 }),
      paymentFailed({ orderId: 'o3', userId: 'u1', amountCents: 300, reason: 'insufficient_funds' }),
      paymentRefunded({ orderId: 'o4', userId: 'u1', amountCents: 500, balanceCents: 5000 }),
      paymentRefunded({ orderId: 'o5', userId: 'u1', amountCents: 0, balanceCents: 5000 }),
    );
    await settled();
    const live = await summary();
    expect(live).toEqual({
      ordersPlaced: 4,
      ordersConfirmed: 2,
      ordersPaymentFailed: 1,
      ordersCancelled: 1,
      revenueCents: 1000,
      refundedCents: 500,
    });
    expect(logged()).toBe(13);
    const rebuilt = await rebuild();
    expect(rebuilt.statusCode).toBe(200);
    expect(rebuilt.json()).toEqual(live);
    expect(await summary()).toEqual(live);
  });

  it('rebuilds from the log, not from the read model it replaces', async () => {
    const live = await summary();
    await contextOf('analytics').transact((tx) =>
      tx.db.run(sql`UPDATE analytics_summary SET revenue_cents = 1`),
    );
    expect((await summary()).revenueCents).toBe(1);
    expect((await rebuild()).json()).toEqual(live);
  });

  it('counts an event delivered twice once', async () => {
    const before = await summary();
    const confirmed = envelopeOf(orderConfirmed(order('o9', 900)));
    await app.kernel.transport.publish([confirmed]);
    await settled();
    await app.kernel.transport.publish([confirmed]);
    await settled();
    const ctx = contextOf('analytics');
    await onBusinessEvent(confirmed, handlerContextWithoutInbox(ctx));
    const after = await summary();
    expect(after.ordersConfirmed).toBe(before.ordersConfirmed + 1);
    expect(after.revenueCents).toBe(before.revenueCents + 900);
    expect((await rebuild()).json()).toEqual(after);
  });
});
