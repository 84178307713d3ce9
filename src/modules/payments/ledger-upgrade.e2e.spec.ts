/**
 * The ledger replays every version it ever stored. A build with the ledger's events at version 1
 * stores deposits and charges; the next build (the same data directory) ships FundsDeposited and
 * PaymentCharged at version 2, each with its upcaster; balances and `?at=` answers over HTTP are
 * unchanged, the stored v1 events are read upcast, new ones are stored at v2. Rolled back to the
 * first build, the v2 events still read (they validate as v1: the change was forward compatible).
 *
 * The "next build" is this module with ./ledger-events.js swapped for a version-2 contract, as a
 * new build would ship it (vi.mock: the module reads `ledgerEvents` at each use).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { Type } from 'typebox';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { TEST_JWT_SECRET, validJwt } from '../../../test/support/module-testing.js';
import {
  defineModule,
  defineStoredEvents,
  type HttpApp,
  loadConfig,
  type ModuleContext,
  type StoredEvents,
} from '../../kernel/index.js';
import { createHost, eventually } from '../../kernel/testing/index.js';
import { chargePayment } from './contracts.js';
import { readStream } from './event-store.js';
import { paymentsModule } from './index.js';
import { ledgerEvents as ledgerV1 } from './ledger-events.js';

const build = vi.hoisted(() => ({ ledger: undefined as StoredEvents | undefined }));
vi.mock('./ledger-events.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('./ledger-events.js')>();
  return {
    get ledgerEvents() {
      return build.ledger ?? original.ledgerEvents;
    },
  };
});

const v1 = (name: string) => {
  const type = ledgerV1.all().find((t) => t.name === name);
  if (!type) throw new Error(`no stored event ${name}`);
  return type.schema;
};
/**
 * The next build's ledger. Version 2 of FundsDeposited and PaymentCharged states what version 1
 * left implicit, through its upcaster: deposits before it all came through the API, charges were
 * all in euros. (The writers of this build do not set the new fields: they are optional.)
 */
const ledgerV2 = defineStoredEvents('payments', {
  FundsDeposited: {
    version: 2,
    schema: Type.Object({ amountCents: Type.Integer(), channel: Type.Optional(Type.String()) }),
    previous: { 1: { schema: v1('FundsDeposited'), upcast: (d) => ({ ...(d as object), channel: 'api' }) } },
  },
  PaymentCharged: {
    version: 2,
    schema: Type.Object({
      orderId: Type.String(),
      amountCents: Type.Integer(),
      currency: Type.Optional(Type.Literal('EUR')),
    }),
    previous: { 1: { schema: v1('PaymentCharged'), upcast: (d) => ({ ...(d as object), currency: 'EUR' }) } },
  },
  PaymentFailed: { schema: v1('PaymentFailed') },
  PaymentRefunded: { schema: v1('PaymentRefunded') },
  OrderClosed: { schema: v1('OrderClosed') },
});

const shop = defineModule({ name: 'shop', sends: [chargePayment] });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const headers = { authorization: `Bearer ${validJwt({ sub: 'alice', role: 'user' })}` };

describe('the payments ledger across a contract upgrade', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-upgrade-'));
  let app: HttpApp | undefined;
  afterAll(async () => {
    await app?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async () => {
    await app?.close();
    const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', JWT_SECRET: TEST_JWT_SECRET }, [
      'payments',
      'shop',
    ]);
    app = await createHost(config, { catalogue: [paymentsModule, shop] });
    return app;
  };
  const context = (name: string): ModuleContext => {
    const found = app?.kernel.modules.find((m) => m.definition.name === name)?.context;
    if (!found) throw new Error(`${name} does not run`);
    return found;
  };
  const deposit = async (amountCents: number) =>
    (
      await app?.inject({ method: 'POST', url: '/payments/deposits', payload: { amountCents }, headers })
    )?.json();
  const account = async (query = '') =>
    (await app?.inject({ method: 'GET', url: `/payments/account${query}`, headers }))?.json();
  const storedVersions = () =>
    context('payments').db.all<{ type: string; v: number }>(
      sql`SELECT type, schema_version AS v FROM payments_events WHERE account_id = 'alice' ORDER BY version`,
    );
  const charge = async (orderId: string, amountCents: number) => {
    await context('shop').transact((tx) =>
      tx.stage(chargePayment({ orderId, userId: 'alice', amountCents })),
    );
    await eventually(async () =>
      expect(
        (await readStream(context('payments').db, 'alice')).map((e) =>
          'orderId' in e.data ? e.data.orderId : '',
        ),
      ).toContain(orderId),
    );
  };

  it('answers balances and ?at= unchanged after the upgrade, and after a rollback', async () => {
    await start();
    const noted: string[] = [];
    const note = async () => {
      await sleep(5); // the next event occurs strictly after the noted time
      noted.push(new Date().toISOString());
      await sleep(5);
    };
    await deposit(500);
    await note();
    await charge('o1', 120);
    await note();
    await deposit(250);
    await note();
    await charge('o2', 700); // more than the balance: PaymentFailed
    const before = { now: await account(), at: await Promise.all(noted.map((at) => account(`?at=${at}`))) };
    expect(before.now).toEqual({ balanceCents: 630, version: 4 });
    expect(before.at).toEqual([
      { balanceCents: 500, version: 1 },
      { balanceCents: 380, version: 2 },
      { balanceCents: 630, version: 3 },
    ]);
    expect(storedVersions().map((row) => row.v)).toEqual([1, 1, 1, 1]);

    build.ledger = ledgerV2; // the next build
    await start();
    expect(await account()).toEqual(before.now);
    expect(await Promise.all(noted.map((at) => account(`?at=${at}`)))).toEqual(before.at);
    const upcast = await readStream(context('payments').db, 'alice');
    expect(upcast.map((e) => e.data)).toEqual([
      { amountCents: 500, channel: 'api' },
      { orderId: 'o1', amountCents: 120, currency: 'EUR' },
      { amountCents: 250, channel: 'api' },
      { orderId: 'o2', amountCents: 700, reason: 'insufficient_funds' },
    ]);
    // new events are stored at version 2, and the stream mixes both
    await deposit(10);
    await charge('o3', 40);
    expect(storedVersions().map((row) => row.v)).toEqual([1, 1, 1, 1, 2, 2]);
    const upgraded = await account();
    expect(upgraded).toEqual({ balanceCents: 600, version: 6 });
    expect(await Promise.all(noted.map((at) => account(`?at=${at}`)))).toEqual(before.at);

    build.ledger = undefined; // rolled back to the first build: v2 rows validate as v1 and read
    await start();
    expect(await account()).toEqual(upgraded);
    expect(await Promise.all(noted.map((at) => account(`?at=${at}`)))).toEqual(before.at);
  });

  it('holds a charge, rather than dead-lettering it, for an account with an event only a newer build reads', async () => {
    build.ledger = undefined;
    await start();
    // as a newer build would have stored it: version 3, a shape version 1 cannot read
    await context('payments').transact((tx) =>
      tx.db.run(sql`INSERT INTO payments_events (account_id, version, type, data, schema_version, occurred_at)
        VALUES ('bob', 1, 'FundsDeposited', '{"amount":{"cents":500}}', 3, 0)`),
    );
    await context('shop').transact((tx) =>
      tx.stage(chargePayment({ orderId: 'b1', userId: 'bob', amountCents: 1 })),
    );
    const kernel = app?.kernel;
    await eventually(async () =>
      expect(kernel?.heldMessages.byConsumer()).toEqual([
        expect.objectContaining({
          consumer: 'payments.account-commands',
          messages: 1,
          versions: ['payments.FundsDeposited v3 (this build reads v1)'],
        }),
      ]),
    );
    const ready = await app?.inject({ method: 'GET', url: '/health/ready' });
    expect(ready?.statusCode).toBe(200);
    expect(ready?.json()).toMatchObject({ status: 'warn', checks: { held: { status: 'warn' } } });
    expect((await kernel?.listDeadLetters())?.items).toEqual([]);
    const bob = { authorization: `Bearer ${validJwt({ sub: 'bob', role: 'user' })}` };
    const answer = await app?.inject({ method: 'GET', url: '/payments/account', headers: bob });
    expect(answer?.statusCode).toBe(503);
    expect(answer?.json()).toMatchObject({ code: 'HTTP_NEWER_SCHEMA_VERSION' });
    expect(answer?.headers['retry-after']).toBeDefined();
  });
});
