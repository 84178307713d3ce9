import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  defineModule,
  type Envelope,
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
import { orderCancelled, orderConfirmed, orderPaymentFailed } from '../orders/contracts.js';
import { paymentRefunded } from '../payments/contracts.js';
import { userRegistered } from '../users/contracts.js';
import {
  type NotificationChannel,
  NotificationRejectedError,
  type OutgoingNotification,
} from './channels.js';
import { createOutcomeHandler, genericAddress } from './handlers/on-outcome.js';
import { createNotificationsModule } from './index.js';

/** Stand-ins that publish what the real orders, payments and users modules would. */
const publishers = [
  defineModule({ name: 'orders', messages: [orderConfirmed, orderPaymentFailed, orderCancelled] }),
  defineModule({ name: 'payments', messages: [paymentRefunded] }),
  defineModule({ name: 'users', messages: [userRegistered] }),
];

const sent: OutgoingNotification[] = [];
let calls = 0;
let failing = false;
/** Orders whose notification the channel refuses (NotificationRejectedError). */
const refused = new Set<string>();
const channel: NotificationChannel = {
  name: 'test',
  async send(notification) {
    calls++;
    if (failing) throw new Error('mail server down');
    const orderId = /order (\S+?)[ .]/.exec(notification.body)?.[1];
    if (orderId && refused.has(orderId)) throw new NotificationRejectedError('no such mailbox');
    sent.push(notification);
  },
};

let app: HttpApp;
let dataDir: string;
const contextOf = (name: string): ModuleContext => {
  const found = app.kernel.modules.find((m) => m.definition.name === name);
  if (!found) throw new Error(`${name} not running`);
  return found.context;
};
const publish = (module: string, ...drafts: MessageDraft[]) =>
  contextOf(module).transact((tx) => tx.stage(...drafts));
const bearer = (sub: string) => ({ authorization: `Bearer ${app.jwt.sign({ sub, role: 'user' })}` });
const inbox = async (sub: string) =>
  (
    (await app.inject({ url: '/notifications', headers: bearer(sub) })).json() as {
      items: { eventId: string; kind: string }[];
    }
  ).items;
const rows = (query: string) => contextOf('notifications').db.all(sql.raw(query));
/** Every staged message published and every delivery handled. */
async function settled(): Promise<void> {
  await eventually(async () => {
    expect((await app.kernel.outboxStats()).every((s) => s.pending === 0)).toBe(true);
    expect((await app.kernel.transport.stats()).every((s) => s.depth === 0)).toBe(true);
  });
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'notifications-e2e-'));
  const names = ['notifications', 'orders', 'payments', 'users'];
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, names);
  const notifications = createNotificationsModule({
    channel: () => channel,
    resilience: { failuresToOpen: 3, halfOpenAfterMs: 1500, attempts: 1, timeoutMs: 1000 },
  });
  app = await createHost(config, { catalogue: [notifications, ...publishers] });
});
afterAll(async () => {
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
});
beforeEach(() => {
  failing = false;
});

describe('notifications', () => {
  it('sends exactly one per order outcome and per refund, addressed from the contact copy', async () => {
    await publish(
      'users',
      userRegistered({ userId: 'ann', email: 'ann@example.com', name: 'Ann', role: 'user' }),
    );
    await eventually(async () =>
      expect(rows("SELECT * FROM notifications_contacts WHERE user_id = 'ann'")).toHaveLength(1),
    );
    const ref = { userId: 'ann', totalCents: 1250 };
    await publish(
      'orders',
      orderConfirmed({ ...ref, orderId: 'o1' }),
      orderPaymentFailed({ ...ref, orderId: 'o2', reason: 'insufficient_funds' }),
      orderCancelled({ ...ref, orderId: 'o3', reason: 'out_of_stock' }),
    );
    await publish(
      'payments',
      paymentRefunded({ orderId: 'o3', userId: 'ann', amountCents: 1250, balanceCents: 5000 }),
      paymentRefunded({ orderId: 'o4', userId: 'ann', amountCents: 0, balanceCents: 5000 }),
    );
    await settled();
    const mine = await inbox('ann');
    expect(mine.map((n) => n.kind).sort()).toEqual([
      'order-cancelled',
      'order-confirmed',
      'order-payment-failed',
      'payment-refunded',
    ]);
    const toAnn = sent.filter((n) => n.userId === 'ann');
    expect(toAnn).toHaveLength(4);
    expect(new Set(toAnn.map((n) => n.address))).toEqual(new Set(['ann@example.com']));
    expect(toAnn.find((n) => n.kind === 'order-cancelled')?.body).toContain('out of stock');
    const events = rows("SELECT envelope FROM kernel_outbox WHERE type = 'notifications.notification-sent'");
    const eventIds = events.map((r) => JSON.parse((r as { envelope: string }).envelope).data.eventId);
    expect(eventIds.sort()).toEqual(mine.map((n) => n.eventId).sort());
  });

  it('still notifies a user whose contact it has not seen, at a generic address', async () => {
    await publish('orders', orderConfirmed({ orderId: 'o5', userId: 'zed', totalCents: 100 }));
    await eventually(async () => expect(await inbox('zed')).toHaveLength(1));
    expect(sent.find((n) => n.userId === 'zed')?.address).toBe(genericAddress('zed'));
  });

  it('shows each user only their own notifications, and needs a token', async () => {
    expect((await inbox('ann')).every((n) => n.kind)).toBe(true);
    expect(await inbox('nobody')).toEqual([]);
    const response = await app.inject({ url: '/notifications' });
    expect(response.statusCode).toBe(401);
  });

  it('sends once for the same event delivered twice', async () => {
    const confirmed = envelopeOf(
      orderConfirmed({ orderId: 'o6', userId: 'ann', totalCents: 100 }),
    ) as Envelope;
    const before = calls;
    await app.kernel.transport.publish([confirmed]);
    await settled();
    await app.kernel.transport.publish([confirmed]);
    await settled();
    expect(calls - before).toBe(1);
    expect(
      rows(`SELECT id FROM notifications_notifications WHERE event_id = '${confirmed.id}'`),
    ).toHaveLength(1);
  });

  it('keeps one contact row for a user-registered delivered twice', async () => {
    const registered = envelopeOf(
      userRegistered({ userId: 'cy', email: 'cy@example.com', name: 'Cy', role: 'user' }),
    );
    await app.kernel.transport.publish([registered]);
    await settled();
    await app.kernel.transport.publish([registered]);
    await settled();
    expect(rows("SELECT email FROM notifications_contacts WHERE user_id = 'cy'")).toEqual([
      { email: 'cy@example.com' },
    ]);
  });

  it('does not send again once the row committed, even without an inbox record', async () => {
    const ctx = contextOf('notifications');
    let sends = 0;
    const handler = createOutcomeHandler(ctx, async () => {
      sends++;
    });
    const handlerCtx = handlerContextWithoutInbox(ctx);
    const cancelled = envelopeOf(
      orderCancelled({ orderId: 'o7', userId: 'ann', totalCents: 1, reason: 'timeout' }),
    );
    await handler(cancelled, handlerCtx);
    await handler(cancelled, handlerCtx);
    expect(sends).toBe(1);
    expect(
      rows(`SELECT id FROM notifications_notifications WHERE event_id = '${cancelled.id}'`),
    ).toHaveLength(1);
  });

  it('pauses while the breaker is open, dead-letters nothing, and sends each notification once when the channel is back', async () => {
    failing = true;
    const before = calls;
    const outcomes = async () =>
      (await app.kernel.listDeadLetters({ consumer: 'notifications.outcomes' })).items;
    await publish('orders', orderConfirmed({ orderId: 'b1', userId: 'bea', totalCents: 100 }));
    await eventually(async () =>
      expect(app.kernel.pausedConsumers()).toMatchObject([
        { consumer: 'notifications.outcomes', dependency: 'notification channel test' },
      ]),
    );
    expect(calls - before).toBe(3); // attempts 1 and 2 failed; the third opened the breaker: a pause
    await publish('orders', orderConfirmed({ orderId: 'b2', userId: 'bea', totalCents: 100 }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(calls - before).toBe(3); // paused: b2 waits in the queue, the channel is not called
    expect(await outcomes()).toEqual([]);
    failing = false;
    await eventually(async () => expect(await inbox('bea')).toHaveLength(2), { timeoutMs: 5000 });
    await settled();
    expect(sent.filter((n) => n.userId === 'bea')).toHaveLength(2);
    expect(calls - before).toBe(5); // the trial (b1, first), then b2
    expect(await outcomes()).toEqual([]);
    expect(app.kernel.pausedConsumers()).toEqual([]);
  });

  it('dead-letters at once a notification the channel refuses, and replays it once the cause is fixed', async () => {
    refused.add('r1');
    const before = calls;
    await publish('orders', orderConfirmed({ orderId: 'r1', userId: 'rae', totalCents: 100 }));
    const [letter] = await eventually(async () => {
      const letters = (await app.kernel.listDeadLetters({ consumer: 'notifications.outcomes' })).items;
      expect(letters).toHaveLength(1);
      return letters;
    });
    expect(letter).toMatchObject({
      attempts: 1,
      error: expect.stringContaining('NotificationRejectedError'),
    });
    expect(calls - before).toBe(1);
    refused.delete('r1');
    expect(await app.kernel.replayDeadLetters({ consumer: 'notifications.outcomes' })).toBe(1);
    await eventually(async () => expect(await inbox('rae')).toHaveLength(1));
    expect(sent.filter((n) => n.userId === 'rae')).toHaveLength(1);
  });
});
