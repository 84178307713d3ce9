import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3';
import { withStatementCache } from './statement-cache.js';

/** A module's drizzle handle. Inside `transact` it runs in the enclosing transaction. */
export type Db = BetterSQLite3Database;

/** The pragmas every module database runs with; asserted when it opens. */
const REQUIRED_PRAGMAS = {
  journal_mode: 'wal',
  busy_timeout: 5000,
  synchronous: 1, // NORMAL: durable across process crashes in WAL mode
  foreign_keys: 1,
} as const;

export interface ModuleDatabase {
  readonly module: string;
  readonly file: string;
  readonly sqlite: Database.Database;
  readonly db: Db;
  /**
   * Runs fn in one write transaction (`BEGIN IMMEDIATE`, so a writer in another process waits up
   * to busy_timeout instead of failing with SQLITE_BUSY). fn must be synchronous: an `await`
   * inside would commit early. Nested calls become savepoints.
   */
  writeTransaction<T>(fn: () => T): T;
  close(): void;
}

export function openModuleDatabase(dataDir: string, module: string): ModuleDatabase {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, `${module}.db`);
  const sqlite = new Database(file);
  for (const [name, value] of Object.entries(REQUIRED_PRAGMAS)) sqlite.pragma(`${name} = ${value}`);
  assertPragmas(sqlite, file);
  const db = drizzle({ client: withStatementCache(sqlite) });
  // One transaction function for the database's life (building one per call costs ~5% per order).
  const immediate = sqlite.transaction((fn: () => unknown) => fn()).immediate;
  return {
    module,
    file,
    sqlite,
    db,
    writeTransaction: <T>(fn: () => T) => immediate(fn) as T,
    close: () => {
      if (sqlite.open) sqlite.close();
    },
  };
}

function assertPragmas(sqlite: Database.Database, file: string): void {
  for (const [name, expected] of Object.entries(REQUIRED_PRAGMAS)) {
    const actual = sqlite.pragma(name, { simple: true });
    if (String(actual).toLowerCase() !== String(expected)) {
      throw new Error(`${file}: PRAGMA ${name} is ${String(actual)}, expected ${expected}`);
    }
  }
}
