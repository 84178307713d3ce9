import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { badJwts, TEST_JWT_SECRET, validJwt } from '../../../test/support/module-testing.js';
import { type HttpApp, loadConfig } from '../../kernel/index.js';
import { createHost, jsonObject } from '../../kernel/testing/index.js';
import { paymentsModule } from './index.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const bearer = (sub: string) => ({ authorization: `Bearer ${validJwt({ sub, role: 'user' })}` });

describe('payments over HTTP', () => {
  let app: HttpApp;
  let dataDir: string;
  const db = () => app.kernel.modules.find((m) => m.definition.name === 'payments')?.context.db;
  const written = () => ({
    events: db()?.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM payments_events`)?.n,
    outbox: db()?.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM kernel_outbox`)?.n,
  });
  const deposit = (sub: string, payload: unknown) =>
    app.inject({
      method: 'POST',
      url: '/payments/deposits',
      payload: payload as object,
      headers: bearer(sub),
    });
  const account = (sub: string, query = '') =>
    app.inject({ method: 'GET', url: `/payments/account${query}`, headers: bearer(sub) });
  const events = (sub: string) =>
    app.inject({ method: 'GET', url: '/payments/account/events', headers: bearer(sub) });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'payments-e2e-'));
    const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', JWT_SECRET: TEST_JWT_SECRET }, [
      'payments',
    ]);
    app = await createHost(config, { catalogue: [paymentsModule] });
  });
  afterAll(async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers an account without events with balance 0 at version 0 and an empty stream', async () => {
    expect((await account('nobody')).json()).toEqual({ balanceCents: 0, version: 0 });
    expect((await events('nobody')).json()).toEqual({ items: [], next: null });
  });

  it('takes deposits, publishes funds-deposited, and shows the balance and the stream', async () => {
    const first = await deposit('alice', { amountCents: 500 });
    expect(first.statusCode).toBe(201);
    expect(first.json()).toEqual({ balanceCents: 500 });
    expect((await deposit('alice', { amountCents: 250 })).json()).toEqual({ balanceCents: 750 });
    expect((await account('alice')).json()).toEqual({ balanceCents: 750, version: 2 });
    const stream = (await events('alice')).json().items;
    expect(stream).toEqual([
      { version: 1, type: 'FundsDeposited', data: { amountCents: 500 }, occurredAt: expect.any(String) },
      { version: 2, type: 'FundsDeposited', data: { amountCents: 250 }, occurredAt: expect.any(String) },
    ]);
    expect(new Date(stream[0].occurredAt).toISOString()).toBe(stream[0].occurredAt);
    const published = db()
      ?.all<{ envelope: string }>(
        sql`SELECT envelope FROM kernel_outbox WHERE type = 'payments.funds-deposited'`,
      )
      .map((row) => JSON.parse(row.envelope).data);
    expect(published).toEqual([
      { userId: 'alice', amountCents: 500, balanceCents: 500 },
      { userId: 'alice', amountCents: 250, balanceCents: 750 },
    ]);
    expect((await account('bob')).json()).toEqual({ balanceCents: 0, version: 0 });
  });

  it('answers the balance as of a past time (?at=)', async () => {
    await deposit('carol', { amountCents: 100 });
    const noted = new Date().toISOString();
    await sleep(5);
    await deposit('carol', { amountCents: 40 });
    expect((await account('carol', `?at=${noted}`)).json()).toEqual({ balanceCents: 100, version: 1 });
    expect((await account('carol', '?at=2000-01-01T00:00:00Z')).json()).toEqual({
      balanceCents: 0,
      version: 0,
    });
    const later = new Date(Date.now() + 60_000).toISOString().replace('Z', '+00:00');
    expect((await account('carol', `?at=${encodeURIComponent(later)}`)).json()).toEqual({
      balanceCents: 140,
      version: 2,
    });
    // the same, with the "+" of the offset left unencoded (it arrives as a space)
    expect((await account('carol', `?at=${later}`)).json()).toEqual({ balanceCents: 140, version: 2 });
    const noted2h = new Date(Date.parse(noted) + 2 * 3600_000).toISOString().replace('Z', '+02:00');
    expect((await account('carol', `?at=${encodeURIComponent(noted2h)}`)).json()).toEqual({
      balanceCents: 100,
      version: 1,
    });
    expect((await account('carol')).json()).toEqual({ balanceCents: 140, version: 2 });
  });

  it.each([
    'yesterday',
    '2024-13-01T00:00:00Z',
    '2024-02-30T00:00:00Z',
    '2024-01-01T10:00:00',
    '2024-01-01',
    '1700000000000',
    '',
  ])('answers ?at=%s with 400 PAYMENTS_INVALID_AT', async (at) => {
    const response = await account('carol', `?at=${encodeURIComponent(at)}`);
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ status: 400, code: 'PAYMENTS_INVALID_AT' });
  });

  it('refuses an unknown query parameter', async () => {
    const response = await account('carol', '?asOf=2024-01-01T00:00:00Z');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'HTTP_VALIDATION' });
  });

  it('answers 401 without a valid token on every route, writing nothing', async () => {
    const before = written();
    const routes = [
      { method: 'POST' as const, url: '/payments/deposits', payload: { amountCents: 100 } },
      { method: 'GET' as const, url: '/payments/account' },
      { method: 'GET' as const, url: '/payments/account/events' },
    ];
    for (const route of routes) {
      expect((await app.inject(route)).statusCode, route.url).toBe(401);
      for (const [name, token] of Object.entries(badJwts({ sub: 'alice', role: 'user' }))) {
        const response = await app.inject({ ...route, headers: { authorization: `Bearer ${token}` } });
        expect(response.statusCode, `${route.url}: ${name}`).toBe(401);
        expect(response.json()).toMatchObject({ code: 'AUTH_INVALID_TOKEN' });
      }
    }
    expect(written()).toEqual(before);
  });

  it('answers every bad deposit body with 400 problem+json and writes nothing', async () => {
    const before = written();
    const notPositiveInteger = fc.oneof(
      fc.integer({ max: 0 }),
      fc.double().filter((n) => !Number.isInteger(n)),
      fc.integer({ min: 1 }).map(String),
      fc.string(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.nat()),
      jsonObject(),
    );
    const body = fc.oneof(
      fc.record({ amountCents: notPositiveInteger }),
      fc.record({ amountCents: fc.integer({ min: 1, max: 1000 }), extra: fc.jsonValue() }),
      fc.constant({}),
      fc.dictionary(
        fc.string().filter((k) => k !== 'amountCents'),
        fc.jsonValue(),
        { minKeys: 1 },
      ),
    );
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const response = await deposit('mallory', payload);
        expect(response.statusCode, JSON.stringify(payload)).toBe(400);
        expect(response.headers['content-type']).toContain('application/problem+json');
        // a key named __proto__ is refused by the JSON parser itself (prototype poisoning)
        expect(response.json()).toMatchObject({ status: 400 });
        expect(response.json().code).toMatch(/^(HTTP_VALIDATION|HTTP_INVALID_JSON)$/);
      }),
      { numRuns: 200 },
    );
    expect(written()).toEqual(before);
    expect((await account('mallory')).json()).toEqual({ balanceCents: 0, version: 0 });
  });
});
