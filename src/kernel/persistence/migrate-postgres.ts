import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import pg from 'pg';
import { migrationsRoot } from '../paths.js';

/** drizzle-kit's PostgreSQL migrations: `kernel` and one folder per module (SQLite's are beside). */
export const postgresMigrationsRoot = join(migrationsRoot, 'postgres');

/** How many migrations one call applied, per folder (0 and 0 when the schema was up to date). */
export interface PostgresMigrationReport {
  readonly kernel: number;
  readonly module: number;
}

/**
 * Brings a module's PostgreSQL schema (named after the module) up to date: creates it, then applies
 * the kernel's migrations (`migrations/postgres/kernel`) and the module's own
 * (`migrations/postgres/<module>`, when present) into it, each folder tracked in its own table
 * there (`__migrations_kernel`, `__migrations_<module>`; drizzle's bookkeeping columns), as the
 * SQLite migrator does (`migrate.ts`).
 *
 * The kernel's migrations name no schema: they run with `search_path` set to the module's schema,
 * so every module gets its own kernel tables from one set of migrations. The module's migrations
 * name their schema themselves.
 *
 * Instances starting together, on one host or many, apply each migration once: everything runs in
 * ONE transaction that first takes an advisory lock keyed by the schema name, and reads what is
 * applied only then, so the others wait and find nothing left to do. (`CREATE SCHEMA IF NOT EXISTS`
 * alone is not safe when two sessions run it at once.) The transaction-level lock is released by
 * the commit or the rollback, whatever happens to this process. Modules in one database migrate in
 * parallel (other keys).
 *
 * `db`: a pool (a client is taken for the call) or a connected client that is not in a transaction.
 */
export async function migratePostgresModule(
  db: pg.Pool | pg.ClientBase,
  module: string,
): Promise<PostgresMigrationReport> {
  const client = db instanceof pg.Pool ? await db.connect() : db;
  let broken = false;
  try {
    await client.query('BEGIN');
    try {
      const report = await migrateInTransaction(client, module);
      await client.query('COMMIT');
      return report;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true; // the connection is gone: a pool must not hand it out again
      });
      throw error;
    }
  } finally {
    if (db instanceof pg.Pool) (client as pg.PoolClient).release(broken);
  }
}

async function migrateInTransaction(client: pg.ClientBase, module: string): Promise<PostgresMigrationReport> {
  const schema = quoteIdentifier(module);
  await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [migrationLockKey(module)]);
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  // until the commit: the kernel's unqualified names, and nothing else, resolve to this schema
  await client.query(`SET LOCAL search_path TO ${schema}`);
  const kernel = await applyFolder(
    client,
    module,
    join(postgresMigrationsRoot, 'kernel'),
    '__migrations_kernel',
  );
  const moduleFolder = join(postgresMigrationsRoot, module);
  const own = existsSync(join(moduleFolder, 'meta', '_journal.json'))
    ? await applyFolder(client, module, moduleFolder, `__migrations_${module}`)
    : 0;
  return { kernel, module: own };
}

/** Applies the folder's migrations newer than the last one recorded; returns how many it applied. */
async function applyFolder(
  client: pg.ClientBase,
  module: string,
  migrationsFolder: string,
  table: string,
): Promise<number> {
  const migrations = readMigrationFiles({ migrationsFolder });
  const bookkeeping = `${quoteIdentifier(module)}.${quoteIdentifier(table)}`;
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${bookkeeping} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`,
  );
  const { rows } = await client.query<{ created_at: string }>(
    `SELECT created_at FROM ${bookkeeping} ORDER BY created_at DESC LIMIT 1`,
  );
  const last = rows[0] === undefined ? undefined : Number(rows[0].created_at);
  // as drizzle's migrators: a migration is pending when it is newer than the last one applied
  const pending = migrations.filter((migration) => last === undefined || migration.folderMillis > last);
  for (const migration of pending) {
    for (const statement of migration.sql) if (statement.trim()) await client.query(statement);
    await client.query(`INSERT INTO ${bookkeeping} ("hash", "created_at") VALUES ($1, $2)`, [
      migration.hash,
      migration.folderMillis,
    ]);
  }
  return pending.length;
}

/** The advisory lock of a schema's migrations: 64 bits of a hash of its name, as a signed bigint. */
export function migrationLockKey(schema: string): string {
  return createHash('sha256').update(`modulith:migrate:${schema}`).digest().readBigInt64BE(0).toString();
}

export const quoteIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;
