/**
 * GET /asyncapi.json of the whole catalogue in one process (CONTRACT section 3): public, a valid
 * AsyncAPI 3.0.0 document, every event and command of every module with its registered schema as
 * `data`, the publishing module sending it and its consumers receiving it.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moduleCatalogue } from '../../src/app.js';
import { asyncApiProblems } from '../../src/kernel/testing/asyncapi-schema.js';
import { E2eApp, type Json } from './harness.js';

const catalogueMessages = moduleCatalogue.flatMap((module) => module.messages ?? []);

describe('GET /asyncapi.json', () => {
  let app: E2eApp;
  let document: Json;

  beforeAll(async () => {
    app = await E2eApp.start();
    const reply = await app.call('GET', '/asyncapi.json');
    expect(reply.status).toBe(200);
    expect(String(reply.headers['content-type'])).toContain('application/json');
    document = reply.body;
  });
  afterAll(() => app?.close());

  it('is a valid AsyncAPI 3.0.0 document of this build, on the configured transport', () => {
    expect(asyncApiProblems(document)).toEqual([]);
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(document.info).toMatchObject({ title: 'modulith', version });
    expect(Object.keys(document.servers)).toEqual(['memory']);
  });

  it('documents every event and command of the catalogue with its schema and version', () => {
    expect(catalogueMessages.length).toBeGreaterThan(10);
    for (const message of catalogueMessages) {
      expect(document.channels[message.type], message.type).toMatchObject({ address: message.type });
      const documented = document.components.messages[message.type];
      expect(documented.payload.properties.data, message.type).toEqual(
        JSON.parse(JSON.stringify(message.schema)),
      );
      expect(documented['x-schemaversion'], message.type).toBe(message.version);
      expect(documented['x-kind'], message.type).toBe(message.kind);
    }
  });

  it('has each event sent by its module, each command sent by the module that sends it, and received by its consumers', () => {
    const operations = document.operations;
    expect(operations['send.orders.orders.order-placed']).toMatchObject({
      action: 'send',
      'x-module': 'orders',
    });
    expect(operations['send.orders.payments.charge-payment']).toMatchObject({ action: 'send' });
    const receivers = (type: string) =>
      Object.values(operations as Record<string, Json>)
        .filter((op) => op.action === 'receive' && op.channel.$ref === `#/channels/${type}`)
        .map((op) => op['x-module']);
    expect(receivers('payments.charge-payment')).toContain('payments');
    expect(receivers('inventory.reserve-stock')).toContain('inventory');
    expect(receivers('users.user-registered')).toContain('notifications');
    expect(receivers('orders.order-confirmed')).toEqual(
      expect.arrayContaining(['notifications', 'analytics']),
    );
  });
});
