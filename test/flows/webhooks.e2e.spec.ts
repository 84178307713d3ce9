import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moduleCatalogue } from '../../src/app.js';
import { createHost } from '../../src/kernel/host/create-host.js';
import { type HttpApp, loadConfig } from '../../src/kernel/index.js';
import { eventually } from '../../src/kernel/testing/index.js';
import { createWebhooksModule } from '../../src/modules/webhooks/index.js';
import {
  type Receiver,
  startReceiver,
  verifySignature,
} from '../../src/modules/webhooks/testing/receiver.js';

/**
 * With the real users, inventory, payments and orders modules and a real receiver on 127.0.0.1
 * (WEBHOOKS_ALLOW_PRIVATE=1): an order's events reach its owner's webhook, signed; nobody else's.
 */

let app: HttpApp;
let dataDir: string;
let receiver: Receiver;

const headers = (sub: string) => ({
  authorization: `Bearer ${app.jwt.sign({ sub, role: sub === 'admin' ? 'admin' : 'user' })}`,
});
const post = async (sub: string, url: string, payload: object) => {
  const response = await app.inject({ method: 'POST', url, payload, headers: headers(sub) });
  return { status: response.statusCode, body: response.json() };
};
const get = async (sub: string, url: string) => (await app.inject({ url, headers: headers(sub) })).json();
const subscribe = async (sub: string, path: string, events: string[]) => {
  const created = await post(sub, '/webhooks', { url: receiver.url(path), events });
  expect(created.status).toBe(201);
  return created.body as { id: string; secret: string };
};
const envelopes = (path: string) => receiver.received(path).map((r) => JSON.parse(r.body));

beforeAll(async () => {
  receiver = await startReceiver();
  dataDir = mkdtempSync(join(tmpdir(), 'webhooks-flow-'));
  const env = {
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    MODULES: 'users,inventory,payments,orders,webhooks',
    WEBHOOKS_ALLOW_PRIVATE: '1',
  };
  const webhooks = createWebhooksModule({ delivery: { pollIntervalMs: 50, firstRetryDelayMs: 50 } });
  const modules = moduleCatalogue.map((m) => (m.name === 'webhooks' ? webhooks : m));
  app = await createHost(
    loadConfig(
      env,
      modules.map((m) => m.name),
    ),
    { catalogue: modules },
  );
});
afterAll(async () => {
  await app.close();
  await receiver.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('webhooks in the checkout flow', () => {
  it("delivers an order's events to its owner's webhook, signed, and to no one else", async () => {
    const flow = ['orders.order-placed', 'payments.payment-completed', 'orders.order-confirmed'];
    const ann = await subscribe('ann', '/ann', flow);
    await subscribe('bob', '/bob', flow);
    const admin = await subscribe('admin', '/admin', ['inventory.product-created', 'orders.order-confirmed']);

    const product = { sku: 'mug', name: 'Mug', priceCents: 1250, stock: 5 };
    expect((await post('admin', '/inventory/products', product)).status).toBe(201);
    expect((await post('ann', '/payments/deposits', { amountCents: 5000 })).status).toBe(201);
    const order = await eventually(async () => {
      const placed = await post('ann', '/orders', { items: [{ sku: 'mug', quantity: 2 }] });
      expect(placed.status).toBe(202); // 400 until the product reached the orders catalogue
      return placed.body as { id: string };
    });
    await eventually(async () => expect((await get('ann', `/orders/${order.id}`)).status).toBe('confirmed'));

    await eventually(() => expect(receiver.received('/ann')).toHaveLength(3));
    expect(
      envelopes('/ann')
        .map((e) => e.type)
        .sort(),
    ).toEqual([...flow].sort());
    for (const envelope of envelopes('/ann')) {
      expect(envelope).toMatchObject({ specversion: '1.0', id: expect.any(String), data: { userId: 'ann' } });
      expect(envelope.data.orderId).toBe(order.id);
    }
    for (const request of receiver.received('/ann')) {
      expect(request.headers['content-type']).toContain('application/cloudevents+json');
      expect(verifySignature(request, ann.secret)).toBe(true);
      expect(verifySignature(request, admin.secret)).toBe(false);
    }

    // The receiver sees a request before the dispatcher has read its answer and recorded it.
    const deliveries = await eventually(async () => {
      const { items: listed, next } = await get('ann', `/webhooks/${ann.id}/deliveries`);
      expect(listed).toHaveLength(3);
      expect(next).toBeNull();
      for (const delivery of listed) {
        expect(delivery).toEqual({
          id: expect.any(String),
          eventId: expect.any(String),
          status: 'delivered',
          attempts: 1,
          responseStatus: 200,
          lastError: null,
        });
      }
      return listed;
    });
    const ids = (path: string, header: string) => receiver.received(path).map((r) => r.headers[header]);
    expect(ids('/ann', 'webhook-id').sort()).toEqual(deliveries.map((d: { id: string }) => d.id).sort());
    expect(
      envelopes('/ann')
        .map((e) => e.id)
        .sort(),
    ).toEqual(deliveries.map((d: { eventId: string }) => d.eventId).sort());

    // Product events reach the admin; Ann's order events reach neither the admin nor Bob.
    await eventually(() =>
      expect(envelopes('/admin').map((e) => e.type)).toEqual(['inventory.product-created']),
    );
    expect(envelopes('/admin')[0].data.sku).toBe('mug');
    await new Promise((resolve) => setTimeout(resolve, 300)); // nothing more arrives
    expect(receiver.received('/ann')).toHaveLength(3);
    expect(envelopes('/admin')).toHaveLength(1);
    expect(receiver.received('/bob')).toEqual([]);
  });
});
