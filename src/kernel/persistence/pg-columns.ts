import { customType } from 'drizzle-orm/pg-core';

/**
 * Column helpers for the PostgreSQL twins of the SQLite tables (`schema.pg.ts` beside each
 * `schema.ts`), so that both definitions give module code the same JS values.
 */

/**
 * A `text` column holding JSON, read and written as `T`: the twin of sqlite-core's
 * `text(name, { mode: 'json' }).$type<T>()`. It stays `text` (not `json`/`jsonb`) so that both
 * databases store the same bytes and a value round-trips unchanged (jsonb would reorder keys).
 */
export function jsonText<T>(name: string) {
  return customType<{ data: T; driverData: string }>({
    dataType: () => 'text',
    toDriver: (value) => JSON.stringify(value),
    fromDriver: (value) => JSON.parse(value) as T,
  })(name);
}
