import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../../kernel/index.js';
import {
  createTestDatabase,
  describeWithPostgres,
  eventually,
  openMigratedPostgresModule,
  type PostgresModuleDatabase,
  postgresModuleHarness,
  type TestDatabase,
} from '../../kernel/testing/index.js';
import { type AccountEvent, emptyAccount, replay } from './account.js';
import { append, ConcurrencyConflictError, loadAccount, readStream } from './event-store.js';
import { findOrderPayment } from './order-payments.js';

const deposit = (amountCents: number): AccountEvent => ({ type: 'FundsDeposited', data: { amountCents } });
const charged = (orderId: string, amountCents: number): AccountEvent => ({
  type: 'PaymentCharged',
  data: { orderId, amountCents },
});

/**
 * The payments event store's module code (the same as on SQLite) on PostgreSQL: its sqlite-core
 * queries and prepared statements run on the module's schema, migrated by the PostgreSQL
 * migrations, through the node-postgres handle.
 */
await describeWithPostgres('the payments event store on PostgreSQL', () => {
  let server: TestDatabase;
  let database: PostgresModuleDatabase;
  let db: Db;

  beforeAll(async () => {
    server = await createTestDatabase('payments_store');
    database = await openMigratedPostgresModule(server.url, 'payments');
    db = postgresModuleHarness(database).db;
  });
  afterAll(async () => {
    await database?.close();
    await server?.drop();
  });

  it('appends, replays, and records the payment of each order, in one transaction', async () => {
    await database.transaction(() =>
      append(db, emptyAccount('a'), [deposit(100), charged('o1', 30), charged('o2', 20)], 1000),
    );
    await database.transaction(async () =>
      append(db, await loadAccount(db, 'a'), [
        { type: 'PaymentRefunded', data: { orderId: 'o1', amountCents: 30 } },
      ]),
    );
    expect(await loadAccount(db, 'a')).toMatchObject({ balanceCents: 80, version: 4 });
    expect((await readStream(db, 'a')).map((e) => [e.version, e.type])).toEqual([
      [1, 'FundsDeposited'],
      [2, 'PaymentCharged'],
      [3, 'PaymentCharged'],
      [4, 'PaymentRefunded'],
    ]);
    expect(await findOrderPayment(db, 'a', 'o1')).toEqual({
      status: 'refunded',
      amountCents: 30,
      balanceCents: 80,
    });
    expect(await findOrderPayment(db, 'a', 'o2')).toEqual({
      status: 'charged',
      amountCents: 20,
      balanceCents: 50,
    });
    expect(await findOrderPayment(db, 'a', 'o3')).toBeUndefined();
    // rolled back: neither the events nor the order's payment
    await expect(
      database.transaction(async () => {
        await append(db, await loadAccount(db, 'a'), [charged('o3', 1)]);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await findOrderPayment(db, 'a', 'o3')).toBeUndefined();
    expect(await loadAccount(db, 'a')).toMatchObject({ balanceCents: 80, version: 4 });
  });

  it('refuses an append on a stale version, writing nothing', async () => {
    const stale = await loadAccount(db, 'b');
    await database.transaction(() => append(db, stale, [deposit(1)]));
    await expect(database.transaction(() => append(db, stale, [deposit(2)]))).rejects.toThrow(
      ConcurrencyConflictError,
    );
    expect(await loadAccount(db, 'b')).toMatchObject({ balanceCents: 1, version: 1 });
  });

  it('turns a concurrent append of the same version into a conflict: (account_id, version) is unique', async () => {
    const account = await loadAccount(db, 'race');
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Both read version 0 (the first has not committed when the second checks the head), so the
    // second's insert waits on the first's row lock of version 1, then fails on its key.
    const first = database.transaction(async () => {
      await append(db, account, [deposit(10)]);
      await gate;
    });
    const second = database.transaction(() => append(db, account, [deposit(20)]));
    await eventually(async () => {
      const waiting = await database.query<{ n: number }>(
        `SELECT count(*) AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      expect(waiting.rows[0]?.n).toBe(1);
    });
    release();
    await first;
    await expect(second).rejects.toThrow(ConcurrencyConflictError);
    expect(await loadAccount(db, 'race')).toMatchObject({ balanceCents: 10, version: 1 });
  });

  it('runs the prepared queries as named PostgreSQL statements, parsed once per connection', async () => {
    await database.transaction(() => append(db, emptyAccount('named'), [deposit(5)]));
    const names = await database.transaction(async () => {
      await loadAccount(db, 'named'); // the stream's head and range: prepared once, then bound
      const { rows } = await database.query<{ name: string }>(
        "SELECT name FROM pg_prepared_statements WHERE name LIKE 'modulith_q%'",
      );
      return rows.map((row) => row.name);
    });
    expect(names.length).toBeGreaterThan(0);
  });

  it('keeps the stream append-only', async () => {
    await database.transaction(() => append(db, emptyAccount('d'), [deposit(1)]));
    await expect(database.query(`UPDATE payments_events SET data = '{"amountCents":1000}'`)).rejects.toThrow(
      /append-only/,
    );
    await expect(database.query('DELETE FROM payments_events')).rejects.toThrow(/append-only/);
  });

  it('loads from a snapshot every 100 events, also "as of" a time, to the same state as a full replay', async () => {
    for (let i = 1; i <= 250; i += 10) {
      const events = Array.from({ length: 10 }, (_, j) =>
        (i + j) % 3 === 0 ? charged(`o${i + j}`, 1) : deposit(2),
      );
      await database.transaction(async () => append(db, await loadAccount(db, 's'), events, i * 10));
    }
    const full = replay('s', await readStream(db, 's'));
    expect(full).toMatchObject({ version: 250 });
    expect(await loadAccount(db, 's')).toEqual(full);
    const snapshot = await database.query<{ version: number; t: number }>(
      `SELECT version, occurred_at AS t FROM payments_snapshots WHERE account_id = 's'`,
    );
    expect(snapshot.rows).toEqual([{ version: 200, t: 1910 }]);
    for (const until of [0, 10, 995, 1910, 1911, 2500, 9999]) {
      expect(await loadAccount(db, 's', until), `as of ${until}`).toEqual(
        replay('s', await readStream(db, 's', { until })),
      );
    }
  });
});
