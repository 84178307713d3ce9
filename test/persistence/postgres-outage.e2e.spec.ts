/**
 * Issue 16, point 1: a PostgreSQL server that goes away while the app runs. The app reaches it
 * through a TCP relay the spec owns (the shared server itself is never stopped): the relay is
 * closed with every connection through it, then opened again on the same port.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, TcpRelay } from '../../src/kernel/testing/index.js';
import { freePorts } from '../../src/kernel/testing/ports.js';
import {
  createTestDatabase,
  describeWithPostgres,
  postgresUrl,
  type TestDatabase,
} from '../../src/kernel/testing/postgres.js';
import { E2eApp, expectProblem } from '../e2e/harness.js';

await describeWithPostgres('a PostgreSQL server that goes away while the app runs', () => {
  let database: TestDatabase;
  let relay: TcpRelay;
  let app: E2eApp;

  beforeAll(async () => {
    database = await createTestDatabase('outage');
    const [port = 0] = await freePorts(1);
    relay = TcpRelay.to(postgresUrl, 5432, port);
    await relay.start();
    const url = new URL(database.url);
    url.hostname = '127.0.0.1';
    url.port = String(relay.port);
    app = await E2eApp.start({ env: { DATABASE_URL: url.toString() } });
  });
  afterAll(async () => {
    await app?.close();
    await relay?.stop();
    await database?.drop();
  });

  it('answers 503 while it is away, readiness naming the databases, and carries on once it is back, losing nothing', async () => {
    const before = await app.createProduct({ priceCents: 100, stock: 3 });
    await relay.stop();

    const ready = await app.call('GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(JSON.stringify(ready.body)).toContain('db:inventory');
    const refused = await app.call('POST', '/inventory/products', {
      token: await app.adminToken(),
      body: { sku: 'SKU-DURING-OUTAGE', name: 'Never', priceCents: 1, stock: 1 },
    });
    expectProblem(refused, 503, 'DATABASE_UNAVAILABLE');
    expect(refused.headers['retry-after']).toBeDefined();
    expect((await app.call('GET', '/health/live')).status).toBe(200);

    await relay.start(); // the same port: the pools reconnect by themselves
    await eventually(async () => expect((await app.call('GET', '/health/ready')).status).toBe(200), {
      timeoutMs: 10_000,
    });
    const after = await app.createProduct({ priceCents: 200, stock: 1 });
    expect(await app.product(before.sku)).toMatchObject({ sku: before.sku, stock: 3 });
    expect(await app.product(after.sku)).toMatchObject({ sku: after.sku, stock: 1 });
    expect((await app.call('GET', '/inventory/products/SKU-DURING-OUTAGE')).status).toBe(404);
  });
});
