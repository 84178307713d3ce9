import { describe, expect, it } from 'vitest';
import { envelopeOf } from '../../kernel/testing/index.js';
import { productCreated } from '../inventory/contracts.js';
import { orderConfirmed } from '../orders/contracts.js';
import { isUserEvent, unknownEventTypes, webhookEvents } from './event-catalogue.js';
import { audienceOf } from './handlers/on-subscribed-event.js';

describe('the events webhooks offer', () => {
  it("offers every event of the other modules' contracts and no command", () => {
    const types = webhookEvents.map((m) => m.type);
    expect(types).toEqual(
      expect.arrayContaining([
        'users.user-registered',
        'inventory.product-created',
        'inventory.stock-reserved',
        'payments.payment-completed',
        'orders.order-confirmed',
        'notifications.notification-sent',
      ]),
    );
    expect(webhookEvents.every((m) => m.kind === 'event')).toBe(true);
    expect(types).not.toContain('payments.charge-payment');
  });

  it('names what is not an event, and why', () => {
    expect(
      unknownEventTypes(['orders.order-confirmed', 'payments.charge-payment', 'orders.order-eaten']),
    ).toEqual([
      { type: 'payments.charge-payment', reason: 'command' },
      { type: 'orders.order-eaten', reason: 'unknown' },
    ]);
  });

  it('tells events about a user from events about the shop', () => {
    expect(isUserEvent('orders.order-confirmed')).toBe(true);
    expect(isUserEvent('payments.funds-deposited')).toBe(true);
    expect(isUserEvent('inventory.product-created')).toBe(false);
    expect(isUserEvent('inventory.product-updated')).toBe(false);
  });

  it("sends a user's event to that user only, and an event about no user to admins", () => {
    const confirmed = envelopeOf(orderConfirmed({ orderId: 'o1', userId: 'ann', totalCents: 5 }));
    expect(audienceOf(confirmed)).toEqual({ userId: 'ann' });
    const created = envelopeOf(
      productCreated({ sku: 'mug', name: 'Mug', priceCents: 1, stock: 1, reserved: 0 }),
    );
    expect(audienceOf(created)).toEqual({ role: 'admin' });
  });
});
