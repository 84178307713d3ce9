import type { Db } from './db.js';

const built = new WeakMap<Db, Map<(db: Db) => unknown, unknown>>();

/**
 * A drizzle prepared query (`.prepare()`, values as `sql.placeholder(…)`) built once per module
 * database and kept. Without it drizzle builds a query's SQL from its object tree on every call,
 * which was about a quarter of an order's CPU (the hottest handlers use this). `build` is the
 * cache key: pass a module-level function, never a closure made per call.
 */
export function preparedOnce<Q>(db: Db, build: (db: Db) => Q): Q {
  let queries = built.get(db);
  if (!queries) {
    queries = new Map();
    built.set(db, queries);
  }
  let query = queries.get(build) as Q | undefined;
  if (query === undefined) {
    query = build(db);
    queries.set(build, query);
  }
  return query;
}
