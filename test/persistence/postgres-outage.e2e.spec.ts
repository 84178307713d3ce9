/**
 * Issue 16, point 1: a PostgreSQL server that is not up yet when the process starts, or that goes
 * away while the app runs. The app reaches it through a TCP relay the spec owns (the shared server
 * itself is never stopped): the relay is opened late, or closed with every connection through it
 * and opened again on the same port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, TcpRelay } from '../../src/kernel/testing/index.js';
import { freePorts } from '../../src/kernel/testing/ports.js';
import {
  createTestDatabase,
  describeWithPostgres,
  postgresUrl,
  type TestDatabase,
} from '../../src/kernel/testing/postgres.js';
import { E2eApp, expectProblem, JWT_SECRET } from '../e2e/harness.js';
import { killGroup, startApp, waitForOk } from '../split/cluster.js';

/** A PostgreSQL URL for `database` through the relay's port. */
function throughRelay(database: TestDatabase, relay: TcpRelay): string {
  const url = new URL(database.url);
  url.hostname = '127.0.0.1';
  url.port = String(relay.port);
  return url.toString();
}

await describeWithPostgres('a PostgreSQL server that goes away while the app runs', () => {
  let database: TestDatabase;
  let relay: TcpRelay;
  let app: E2eApp;

  beforeAll(async () => {
    database = await createTestDatabase('outage');
    const [port = 0] = await freePorts(1);
    relay = TcpRelay.to(postgresUrl, 5432, port);
    await relay.start();
    app = await E2eApp.start({ env: { DATABASE_URL: throughRelay(database, relay) } });
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

  it('starts while it is not up yet: the port answers meanwhile (live 200, ready 503 naming the wait, commands 503), then serves', async () => {
    const [appPort = 0, latePort = 0] = await freePorts(2);
    const late = new TcpRelay(latePort, relay.target); // not started: the server "is not up yet"
    const lateDatabase = await createTestDatabase('late');
    const dataDir = mkdtempSync(join(tmpdir(), 'pg-late-'));
    const proc = startApp('late', {
      PORT: String(appPort),
      DATA_DIR: dataDir,
      DATABASE_URL: throughRelay(lateDatabase, late),
      JWT_SECRET,
      LOG_LEVEL: 'warn',
    });
    const base = `http://127.0.0.1:${appPort}`;
    try {
      await waitForOk(`${base}/health/live`, 30_000, proc);
      const ready = await fetch(`${base}/health/ready`);
      expect(ready.status).toBe(503);
      const readiness = (await ready.json()) as {
        checks: Record<string, { status: string; detail: string }>;
      };
      expect(Object.values(readiness.checks)[0]?.detail).toMatch(
        /waiting for PostgreSQL at .* \(DATABASE_URL\)/,
      );
      const command = await fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'a@example.com', password: 'whatever-it-is' }),
      });
      expect(command.status).toBe(503);
      expect(command.headers.get('content-type')).toContain('application/problem+json');
      expect(command.headers.get('retry-after')).toBeDefined();
      expect(await command.json()).toMatchObject({ code: 'DATABASE_UNAVAILABLE', status: 503 });

      await late.start();
      await waitForOk(`${base}/health/ready`, 30_000, proc);
      const products = await fetch(`${base}/inventory/products`);
      expect(products.status).toBe(200);
      expect(proc.running).toBe(true);
    } finally {
      await killGroup(proc);
      await late.stop();
      await lateDatabase.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
