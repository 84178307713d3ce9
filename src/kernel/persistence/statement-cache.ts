import type Database from 'better-sqlite3';

/** Distinct SQL texts kept per database: the app runs well under a hundred per module. */
export const STATEMENT_CACHE_CAPACITY = 256;

/**
 * The client drizzle gets: the database itself, except that `prepare` reuses one compiled
 * Statement per SQL text (least recently used dropped past `capacity`). drizzle's better-sqlite3
 * session calls `client.prepare(sql)` for every query it runs and better-sqlite3 keeps no cache,
 * so without this every query paid `sqlite3_prepare` again (~30 per order).
 *
 * drizzle switches a statement to raw mode (rows as arrays) when it maps columns itself, and
 * expects a fresh statement's default (rows as objects) otherwise; so a reused statement is put
 * back to the default on every `prepare`. That is exact for drizzle's usual path, which prepares
 * before each execution. A query prepared once with drizzle's `.prepare()` and run later shares
 * its statement with other queries of the same SQL text: same text means same fields, so the
 * same raw mode, except for a `sql` template spelling out a builder's exact query.
 */
export function withStatementCache(
  sqlite: Database.Database,
  capacity = STATEMENT_CACHE_CAPACITY,
): Database.Database {
  const cache = new Map<string, Database.Statement>();
  const prepare = (source: string): Database.Statement => {
    const cached = cache.get(source);
    if (cached) {
      // Map order is insertion order: re-inserting keeps the most recently used last.
      cache.delete(source);
      cache.set(source, cached);
      if (cached.reader) cached.raw(false); // raw() exists only on statements that return data
      return cached;
    }
    const statement = sqlite.prepare(source);
    cache.set(source, statement);
    if (cache.size > capacity) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    return statement;
  };
  return new Proxy(sqlite, {
    get(target, property) {
      if (property === 'prepare') return prepare;
      // Native methods check their receiver: call them on the database, not on the proxy.
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
