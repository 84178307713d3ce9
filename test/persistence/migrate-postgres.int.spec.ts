/**
 * The PostgreSQL migrator on a real server (skipped without one; a failure with REQUIRE_BROKERS=1):
 * each module's tables, kernel tables included, land in its own schema as its pg-core definitions
 * say; a second run applies nothing; instances starting together apply each migration once; and a
 * module whose migrations are locked waits. Every spec has a database of its own, dropped after.
 */
import { join } from 'node:path';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { PgTable } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { migrationTargets, ROOT } from '../../scripts/migration-targets.mjs';
import { kernelPgTables } from '../../src/kernel/persistence/kernel-schema.pg.js';
import {
  migratePostgresModule,
  migrationLockKey,
  postgresMigrationsRoot,
} from '../../src/kernel/persistence/migrate-postgres.js';
import { endPool } from '../../src/kernel/persistence/postgres.js';
import { createTestDatabase, databaseExists, describeWithPostgres } from '../../src/kernel/testing/index.js';
import { bookkeeping, expectedIndexes, expectedTable, indexesIn, tableIn, tablesIn } from './pg-catalog.js';
import { pgTablesOf } from './table-shape.js';

const modules = migrationTargets('postgresql').filter((t) => t.name !== 'kernel');
const migrationsOf = (folder: string) =>
  readMigrationFiles({ migrationsFolder: join(postgresMigrationsRoot, folder) });

/** The pg-core tables of a module's schema, by name: its kernel tables and its own. */
async function definitionsOf(module: string): Promise<Map<string, PgTable>> {
  const target = modules.find((t) => t.name === module);
  const own = target ? pgTablesOf(await import(join(ROOT, target.schema))) : new Map<string, PgTable>();
  return new Map([...pgTablesOf(kernelPgTables(module)), ...own]);
}

await describeWithPostgres('migratePostgresModule', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A fresh database and a pool on it, both gone after the spec (checked). */
  async function freshDatabase(label: string): Promise<{ url: string; pool: pg.Pool }> {
    const database = await createTestDatabase(label);
    const pool = new pg.Pool({ connectionString: database.url, max: 8 });
    cleanups.push(async () => {
      await endPool(pool);
      await database.drop();
      expect(await databaseExists(database.name), `${database.name} left behind`).toBe(false);
    });
    return { url: database.url, pool };
  }

  it('puts every module, kernel tables included, in its own schema, as its definitions say', async () => {
    const { pool } = await freshDatabase('every_module');
    const names = [...modules.map((t) => t.name), 'gateway']; // gateway: kernel tables only
    await Promise.all(names.map((module) => migratePostgresModule(pool, module)));

    const client = await pool.connect();
    try {
      expect(await tablesIn(client, 'public'), 'nothing lands in public').toEqual([]);
      for (const module of names) {
        const definitions = await definitionsOf(module);
        const own = modules.some((t) => t.name === module) ? [`__migrations_${module}`] : [];
        expect(await tablesIn(client, module), module).toEqual(
          [...definitions.keys(), '__migrations_kernel', ...own].sort(),
        );
        const indexes = await indexesIn(client, module);
        for (const [name, table] of definitions) {
          expect(await tableIn(client, module, name), `${module}.${name}`).toEqual(expectedTable(table));
          expect(indexes).toEqual(expect.arrayContaining(expectedIndexes(table)));
        }
      }
    } finally {
      client.release();
    }
  });

  it('applies nothing the second time', async () => {
    const { pool } = await freshDatabase('again');
    expect(await migratePostgresModule(pool, 'orders')).toEqual({
      kernel: migrationsOf('kernel').length,
      module: migrationsOf('orders').length,
    });
    expect(await migratePostgresModule(pool, 'orders')).toEqual({ kernel: 0, module: 0 });
    const client = await pool.connect();
    try {
      expect(await bookkeeping(client, 'orders', 'kernel')).toHaveLength(migrationsOf('kernel').length);
      expect(await bookkeeping(client, 'orders', 'orders')).toHaveLength(migrationsOf('orders').length);
    } finally {
      client.release();
    }
  });

  it('applies each migration once when five instances start together', async () => {
    const { url, pool } = await freshDatabase('together');
    const instances = Array.from({ length: 5 }, () => new pg.Client({ connectionString: url }));
    await Promise.all(instances.map((client) => client.connect()));
    try {
      const reports = await Promise.all(instances.map((client) => migratePostgresModule(client, 'payments')));
      const applied = (folder: 'kernel' | 'module') => reports.reduce((sum, r) => sum + r[folder], 0);
      expect(applied('kernel')).toBe(migrationsOf('kernel').length);
      expect(applied('module')).toBe(migrationsOf('payments').length);
    } finally {
      await Promise.all(instances.map((client) => client.end()));
    }
    const client = await pool.connect();
    try {
      expect(await bookkeeping(client, 'payments', 'kernel')).toEqual(
        migrationsOf('kernel').map((m) => m.hash),
      );
      expect(await bookkeeping(client, 'payments', 'payments')).toEqual(
        migrationsOf('payments').map((m) => m.hash),
      );
    } finally {
      client.release();
    }
  });

  it("waits while another session holds the schema's migration lock", async () => {
    const { pool } = await freshDatabase('locked');
    const holder = await pool.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [migrationLockKey('users')]);
      let done = false;
      const migrating = migratePostgresModule(pool, 'users').then(() => {
        done = true;
      });
      // another module's migrations take another lock: they do not wait
      await migratePostgresModule(pool, 'orders');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(done).toBe(false);
      expect(await tablesIn(holder, 'users')).toEqual([]);
      await holder.query('SELECT pg_advisory_unlock($1::bigint)', [migrationLockKey('users')]);
      await migrating;
      expect(await tablesIn(holder, 'users')).toContain('users_users');
    } finally {
      holder.release();
    }
  });

  it('keeps the payments event store append-only, as on SQLite', async () => {
    const { pool } = await freshDatabase('append_only');
    await migratePostgresModule(pool, 'payments');
    await pool.query(
      `INSERT INTO payments.payments_events (account_id, version, type, data, occurred_at)
       VALUES ('a', 1, 'FundsDeposited', '{}', 1)`,
    );
    await expect(pool.query('UPDATE payments.payments_events SET data = $1', ['{"x":1}'])).rejects.toThrow(
      /append-only/,
    );
    await expect(pool.query('DELETE FROM payments.payments_events')).rejects.toThrow(/append-only/);
    await expect(pool.query('TRUNCATE payments.payments_events')).rejects.toThrow(/append-only/);
  });
});
