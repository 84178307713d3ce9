import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';

/**
 * A module's drizzle handle. `tx.db` runs in the enclosing transaction; `ctx.db` reads committed
 * rows. Typed as sqlite-core's on both backends: on PostgreSQL it is node-postgres's, running the
 * same module queries (persistence/postgres.ts says why that holds).
 */
export type Db = BetterSQLite3Database;

/**
 * What a commit survives. `process`: a killed process (SQLite `synchronous=NORMAL` in WAL mode:
 * the last commits before a power loss or OS crash may be lost, never corrupted). `power`: also a
 * power loss (`synchronous=FULL`: an fsync per commit).
 */
export type Durability = 'process' | 'power';
