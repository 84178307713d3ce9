import { and, asc, type Column, desc, type SQL, sql } from 'drizzle-orm';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import { type KeyKind, keyset, type Page, type PageRequest } from '../http/pagination.js';
import type { Db } from './db.js';

/**
 * A module's paginated list of one table (http/pagination.ts has the cursors and pages): its sort
 * key columns, all ascending or all descending, so that one index on them (after the columns the
 * list filters on by equality) serves both the order and the "after this key" range.
 */
export interface KeysetList<Row> {
  /** A page of the table's rows that match `filter` (undefined: all of them), in the list's order. */
  page(db: Db, filter: SQL | undefined, request: PageRequest): Promise<Page<Row>>;
}

/**
 * The list `name` of `table`'s rows ordered by the columns `keys` (row property names; the last
 * must make the key unique, such as the primary key), ascending or descending. The cursor parts
 * are checked against the columns' types (integer or text).
 */
export function keysetList<Table extends SQLiteTable, Key extends keyof Table['$inferSelect'] & keyof Table>(
  name: string,
  table: Table,
  keys: readonly Key[],
  order: 'asc' | 'desc',
): KeysetList<Table['$inferSelect']> {
  type Row = Table['$inferSelect'];
  const columns = keys.map((key) => table[key] as Column);
  const kinds: KeyKind[] = columns.map((column) => (column.dataType === 'number' ? 'integer' : 'string'));
  const pages = keyset(name, kinds);
  const direction = order === 'asc' ? asc : desc;
  const orderBy = columns.map((column) => direction(column));
  const tuple = sql.join(columns, sql`, `);
  const comparison = sql.raw(order === 'asc' ? '>' : '<');
  /** The rows after `key` in the list's order: one row-value comparison, one index range. */
  const after = (key: readonly (string | number)[]) =>
    sql`(${tuple}) ${comparison} (${sql.join(
      key.map((part) => sql`${part}`),
      sql`, `,
    )})`;
  return {
    page: (db, filter, request) =>
      pages.page(
        request,
        async (key, take) =>
          (await db
            .select()
            .from(table as SQLiteTable)
            .where(and(filter, key === undefined ? undefined : after(key)))
            .orderBy(...orderBy)
            .limit(take)) as Row[],
        (row: Row) => keys.map((key) => row[key] as string | number),
      ),
  };
}
