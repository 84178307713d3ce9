import { eq, sql } from 'drizzle-orm';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../testing/postgres.js';
import {
  openPostgresModuleDatabase,
  type PostgresModuleDatabase,
  permanentPostgresError,
} from './postgres.js';
import { expectAfterCommit } from './testing/unit-of-work-cases.js';
import { outsideTransactions } from './transaction-scope.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

await describeWithPostgres('the async unit of work of a module database on PostgreSQL', () => {
  let server: TestDatabase;
  let database: PostgresModuleDatabase;
  const rows = async () =>
    (await database.query<{ n: number }>('SELECT n FROM alpha_rows ORDER BY id')).rows.map((row) => row.n);
  const insert = (n: number) => database.query('INSERT INTO alpha_rows (n) VALUES ($1)', [n]);

  beforeAll(async () => {
    server = await createTestDatabase('unit_of_work');
  });
  afterAll(() => server.drop());
  beforeEach(async () => {
    database = openPostgresModuleDatabase(server.url, 'alpha');
    await database.query('CREATE SCHEMA alpha');
    await database.query('CREATE TABLE alpha_rows (id serial PRIMARY KEY, n bigint NOT NULL)');
  });
  afterEach(async () => {
    await database.query('DROP SCHEMA alpha CASCADE');
    await database.close();
  });

  it("keeps the module's tables in its own schema", async () => {
    const { rows: found } = await database.query<{ schema: string }>(
      "SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 'alpha_rows'",
    );
    expect(found).toEqual([{ schema: 'alpha' }]);
  });

  it('shows other sessions committed rows only, never those of a transaction waiting at an await', async () => {
    let seenInside: number[] = [];
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const open = database.transaction(async () => {
      await insert(1);
      await gate;
      seenInside = await rows();
    });
    await tick();
    expect(await rows()).toEqual([]); // outside: the pool, while the transaction waits
    release();
    await open;
    expect(seenInside).toEqual([1]);
    expect(await rows()).toEqual([1]);
  });

  it('runs transactions side by side, each on its own client, each whole', async () => {
    await Promise.all(
      [1, 2, 3].map((n) =>
        database.transaction(async () => {
          await insert(n);
          await tick();
          await insert(n * 10);
        }),
      ),
    );
    expect((await rows()).sort((a, b) => a - b)).toEqual([1, 2, 3, 10, 20, 30]);
  });

  it('rolls back a transaction that rejects, and a nested call is a savepoint of it', async () => {
    await expect(
      database.transaction(async () => {
        await insert(1);
        await tick();
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    await database.transaction(async () => {
      await insert(2);
      await expect(
        database.transaction(async () => {
          await insert(3);
          throw new Error('inner');
        }),
      ).rejects.toThrow('inner');
      await database.transaction(async () => insert(4));
    });
    expect(await rows()).toEqual([2, 4]);
  });

  it('runs afterCommit work once the transaction has committed (another connection sees its rows), never after a rollback', async () => {
    await expectAfterCommit({
      database,
      insert,
      committedRows: async () =>
        (await database.pool.query('SELECT n FROM alpha_rows')).rows.map((row) => row.n),
    });
  });

  it('does not make work scheduled from inside a transaction a savepoint of it', async () => {
    let scheduled: Promise<void> | undefined;
    await database
      .transaction(async () => {
        await insert(1);
        outsideTransactions(() => {
          scheduled = new Promise((resolve, reject) =>
            setTimeout(() => database.transaction(() => insert(2)).then(() => resolve(), reject), 0),
          );
        });
        await tick();
        await tick();
        throw new Error('rolled back');
      })
      .catch(() => undefined);
    await scheduled;
    expect(await rows()).toEqual([2]);
  });

  it('runs drizzle statements in the transaction that calls them, and reads bigint as a number', async () => {
    await database
      .transaction(async () => {
        await database.query('INSERT INTO alpha_rows (n) VALUES ($1)', [2 ** 40]);
        const inside = await (database.db as unknown as NodePgDatabase).execute<{ n: number }>(
          sql`SELECT n FROM alpha_rows`,
        );
        expect(inside.rows).toEqual([{ n: 2 ** 40 }]);
        throw new Error('undo');
      })
      .catch(() => undefined);
    expect(await rows()).toEqual([]);
  });

  it("runs a module's sqlite-core queries (its one schema in code) with PostgreSQL's SQL and values", async () => {
    // The premise of one module code on both backends: the twins store the same driver values.
    const things = sqliteTable('alpha_things', {
      id: text('id').primaryKey(),
      cents: integer('cents').notNull(),
      tags: text('tags', { mode: 'json' }).$type<string[]>().notNull(),
    });
    await database.query(
      'CREATE TABLE alpha_things (id text PRIMARY KEY, cents bigint NOT NULL, tags text NOT NULL)',
    );
    const db = database.db as unknown as BetterSQLite3Database;
    await database.transaction(async () => {
      await db.insert(things).values({ id: 'a', cents: 2 ** 40, tags: ['x'] });
      await db
        .insert(things)
        .values({ id: 'a', cents: 0, tags: [] })
        .onConflictDoUpdate({ target: things.id, set: { cents: sql`${things.cents} + 1` } });
    });
    expect(await db.select().from(things).where(eq(things.id, 'a'))).toEqual([
      { id: 'a', cents: 2 ** 40 + 1, tags: ['x'] },
    ]);
    expect(await db.select({ count: sql<number>`count(*)` }).from(things)).toEqual([{ count: 1 }]);
  });

  it('commits without waiting for the disk on DB_DURABILITY=process, with it on power', async () => {
    const power = openPostgresModuleDatabase(server.url, 'alpha', { durability: 'power' });
    try {
      const setting = async (target: PostgresModuleDatabase) =>
        (await target.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]
          ?.synchronous_commit;
      expect(await setting(database)).toBe('off');
      expect(await setting(power)).toBe('on');
    } finally {
      await power.close();
    }
  });

  it('tells a refusal that no waiting mends from a server that is not there yet', async () => {
    const missing = new URL(server.url);
    missing.pathname = '/modulith_no_such_database';
    const stranger = new URL(server.url);
    stranger.username = 'modulith_no_such_role';
    const refused = new URL(server.url);
    refused.port = '1';
    const reasonOf = async (url: URL) => {
      const target = openPostgresModuleDatabase(url.toString(), 'alpha', { connectTimeoutMs: 1000 });
      try {
        await target.query('SELECT 1');
        return 'connected';
      } catch (error) {
        return permanentPostgresError(error) ?? 'transient';
      } finally {
        await target.close();
      }
    };
    expect(await reasonOf(missing)).toMatch(/^the database does not exist/);
    expect(await reasonOf(stranger)).toMatch(/^the server refused this user/);
    expect(await reasonOf(refused)).toBe('transient');
  });
});
