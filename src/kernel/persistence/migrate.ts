import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { migrationsRoot } from '../paths.js';
import { type DatabaseOptions, openModuleDatabase, type SqliteModuleDatabase } from './db.js';

/**
 * Applies the kernel's migrations and then the module's own (`migrations/<module>`, when present),
 * each tracked in its own table, so kernel and module schemas evolve independently.
 *
 * Safe when several processes open one database at once (instances of a module on one host):
 * each folder is applied in ONE `BEGIN IMMEDIATE` transaction that first reads what is applied, so
 * a second process waits for the first (on timers) and then finds nothing left to do. (drizzle's
 * own migrator reads the last applied migration before its `BEGIN`, so two processes could both
 * apply it.) Same bookkeeping table and rows as drizzle's migrator: existing databases carry on.
 */
export async function migrateModuleDatabase(database: SqliteModuleDatabase): Promise<void> {
  await applyFolder(database, join(migrationsRoot, 'kernel'), '__migrations_kernel');
  const moduleFolder = join(migrationsRoot, database.module);
  if (existsSync(join(moduleFolder, 'meta', '_journal.json'))) {
    await applyFolder(database, moduleFolder, `__migrations_${database.module}`);
  }
}

/** Opens a module's database and brings its schema up to date (see migrateModuleDatabase). */
export async function openMigratedDatabase(
  dataDir: string,
  module: string,
  options?: DatabaseOptions,
): Promise<SqliteModuleDatabase> {
  const database = openModuleDatabase(dataDir, module, options);
  try {
    await migrateModuleDatabase(database);
    return database;
  } catch (error) {
    database.close();
    throw error;
  }
}

async function applyFolder(
  database: SqliteModuleDatabase,
  migrationsFolder: string,
  table: string,
): Promise<void> {
  const migrations = readMigrationFiles({ migrationsFolder });
  const { writer: sqlite } = database;
  const quoted = `"${table.replaceAll('"', '""')}"`;
  await database.transaction(() => {
    sqlite.exec(
      `CREATE TABLE IF NOT EXISTS ${quoted} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`,
    );
    const last = sqlite
      .prepare<[], { created_at: number | string }>(
        `SELECT created_at FROM ${quoted} ORDER BY created_at DESC LIMIT 1`,
      )
      .get();
    const insert = sqlite.prepare(`INSERT INTO ${quoted} ("hash", "created_at") VALUES (?, ?)`);
    for (const migration of migrations) {
      if (last !== undefined && Number(last.created_at) >= migration.folderMillis) continue;
      for (const statement of migration.sql) if (statement.trim()) sqlite.exec(statement);
      insert.run(migration.hash, migration.folderMillis);
    }
  });
}
