import type { SQL } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { PreparedQueryConfig, SQLitePreparedQuery } from 'drizzle-orm/sqlite-core';
import type { Db } from './db.js';
import { isPostgresHandle } from './postgres.js';

/**
 * A query builder of a module's `Db` whose values are `sql.placeholder(…)`s, not yet prepared
 * (`preparedOnce` prepares it). Typed as SQLite's (a module's one schema in code); on PostgreSQL
 * it is drizzle's node-postgres builder, whose `prepare` takes a statement name.
 */
export interface Preparable<Config extends PreparedQueryConfig> {
  prepare(): SQLitePreparedQuery<Config>;
}

/** The values of a prepared query's placeholders, by name. */
export type PlaceholderValues = Record<string, unknown>;

/** The row a prepared query reads (`never` for a write without `.returning()`). */
export type PreparedRow<Config extends PreparedQueryConfig> = Config['all'] extends readonly (infer Row)[]
  ? Row
  : never;

/**
 * A prepared query that runs on either backend, always asynchronously (SQLite's synchronous
 * methods are not on PostgreSQL). The names differ from drizzle's synchronous `get/all/run` so
 * that `npm run check:queries` can refuse those in module code without exceptions.
 */
export interface PreparedStatement<Row> {
  /** The first row read (a write's first `.returning()` row), or undefined when there is none. */
  one(values?: PlaceholderValues): Promise<Row | undefined>;
  /** Every row read (a write's `.returning()` rows). */
  many(values?: PlaceholderValues): Promise<Row[]>;
  /** Runs the statement, for its effect. */
  exec(values?: PlaceholderValues): Promise<void>;
}

const built = new WeakMap<Db, Map<(db: Db) => unknown, PreparedStatement<unknown>>>();

/**
 * Names of PostgreSQL prepared statements: unique in the process, so one name never stands for two
 * texts on a connection (node-postgres refuses that). A named statement is parsed and planned once
 * per connection, then only bound and executed.
 */
let statements = 0;

/**
 * `build`'s query prepared once per module database and kept, as a dialect-neutral statement.
 * Without it drizzle builds a query's SQL from its object tree on every call, which was about a
 * quarter of an order's CPU (the hottest handlers use this). `build` returns the builder, values
 * as `sql.placeholder(…)`, without `.prepare()`: this prepares it for the handle's backend. It is
 * the cache key: pass a module-level function, never a closure made per call.
 *
 * On SQLite the methods call better-sqlite3's synchronous statement (the cost of an async function
 * call over it); on PostgreSQL they execute a named node-postgres prepared statement, in the
 * transaction of the calling code when there is one (the handle routes it).
 */
export function preparedOnce<Config extends PreparedQueryConfig>(
  db: Db,
  build: (db: Db) => Preparable<Config>,
): PreparedStatement<PreparedRow<Config>> {
  let queries = built.get(db);
  if (!queries) {
    queries = new Map();
    built.set(db, queries);
  }
  let statement = queries.get(build) as PreparedStatement<PreparedRow<Config>> | undefined;
  if (statement === undefined) {
    statement = isPostgresHandle(db)
      ? onPostgres<PreparedRow<Config>>(build(db) as unknown as PostgresPreparable)
      : onSqlite<Config>(build(db).prepare());
    queries.set(build, statement as PreparedStatement<unknown>);
  }
  return statement;
}

function onSqlite<Config extends PreparedQueryConfig>(
  query: SQLitePreparedQuery<Config>,
): PreparedStatement<PreparedRow<Config>> {
  // A module's Db is better-sqlite3's ('sync'): these return values, not promises. Async
  // functions turn a throw into a rejection, as on PostgreSQL.
  return {
    one: async (values) => query.get(values) as PreparedRow<Config> | undefined,
    many: async (values) => query.all(values) as PreparedRow<Config>[],
    exec: async (values) => {
      query.run(values);
    },
  };
}

/** What drizzle's node-postgres builders are at run time (pg-core's `prepare(name)`). */
interface PostgresPreparable {
  prepare(name: string): { execute(values?: PlaceholderValues): Promise<unknown> };
}

function onPostgres<Row>(builder: PostgresPreparable): PreparedStatement<Row> {
  const query = builder.prepare(`modulith_q${++statements}`);
  // execute answers the mapped rows of a query with fields (a select, a `.returning()`), and
  // node-postgres's result of one without (a write): `exec` ignores it.
  const rows = async (values?: PlaceholderValues) => (await query.execute(values)) as Row[];
  return {
    one: async (values) => (await rows(values))[0],
    many: rows,
    exec: async (values) => {
      await query.execute(values);
    },
  };
}

/**
 * Runs one hand-written statement (`sql\`…\``) for its effect on either backend, in the calling
 * transaction when there is one. For SQL no query builder says (DDL and fixtures in tests); the
 * SQL itself must suit both dialects.
 */
export async function runSql(db: Db, query: SQL): Promise<void> {
  if (isPostgresHandle(db)) await (db as unknown as NodePgDatabase).execute(query);
  else db.run(query); // sync-sqlite-only: the SQLite branch of this helper
}

/** Reads the rows of one hand-written query (`sql\`…\``) on either backend, as `runSql` runs it. */
export async function selectSql<Row>(db: Db, query: SQL): Promise<Row[]> {
  if (!isPostgresHandle(db)) return db.all<Row>(query); // sync-sqlite-only: the SQLite branch
  const { rows } = await (db as unknown as NodePgDatabase).execute<Record<string, unknown>>(query);
  return rows as Row[];
}
