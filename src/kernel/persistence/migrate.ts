import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { migrationsRoot } from '../paths.js';
import type { ModuleDatabase } from './db.js';

/**
 * Applies the kernel's migrations and then the module's own (`migrations/<module>`, when present),
 * each tracked in its own table, so kernel and module schemas evolve independently.
 */
export function migrateModuleDatabase(database: ModuleDatabase): void {
  migrate(database.db, {
    migrationsFolder: join(migrationsRoot, 'kernel'),
    migrationsTable: '__migrations_kernel',
  });
  const moduleFolder = join(migrationsRoot, database.module);
  if (existsSync(join(moduleFolder, 'meta', '_journal.json'))) {
    migrate(database.db, {
      migrationsFolder: moduleFolder,
      migrationsTable: `__migrations_${database.module}`,
    });
  }
}
