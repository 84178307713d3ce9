/**
 * The shape of a drizzle table, the same for its sqlite-core and its pg-core definition when the
 * two agree: what the drift spec compares. Types are compared by what module code sees (the JS
 * value, whether the database numbers a row, how JSON is stored), not by SQL type names, which
 * differ on purpose (`integer` holding epoch ms is `bigint` on PostgreSQL).
 */
import { getTableName, is, type SQL, type Table } from 'drizzle-orm';
import { type AnyPgColumn, getTableConfig as getPgConfig, PgDialect, PgTable } from 'drizzle-orm/pg-core';
import {
  type AnySQLiteColumn,
  getTableConfig as getSqliteConfig,
  SQLiteSyncDialect,
  SQLiteTable,
} from 'drizzle-orm/sqlite-core';

export interface ColumnShape {
  name: string;
  /** What module code reads: `number`, `string`, or `json` (text holding JSON, parsed by drizzle). */
  value: 'number' | 'string' | 'json' | `other:${string}`;
  notNull: boolean;
  hasDefault: boolean;
  default: unknown;
  /** The database numbers a row inserted without this column (SQLite rowid, a serial or identity). */
  generated: boolean;
  primary: boolean;
  unique: string | false;
  enumValues: readonly string[] | undefined;
}

export interface TableShape {
  name: string;
  columns: ColumnShape[];
  indexes: { name: string; columns: string[]; unique: boolean; where: string | undefined }[];
  primaryKeys: string[][];
  uniques: { name: string | undefined; columns: string[] }[];
  checks: { name: string; sql: string }[];
  foreignKeys: { columns: string[]; table: string; foreignColumns: string[] }[];
}

const JSON_SAMPLE = { a: [1, 'b'] };

/** A text column whose driver value is the JSON text of the JS value, both ways. */
function storesJsonText(column: AnySQLiteColumn | AnyPgColumn): boolean {
  const text = JSON.stringify(JSON_SAMPLE);
  return (
    column.getSQLType() === 'text' &&
    column.mapToDriverValue(JSON_SAMPLE) === text &&
    JSON.stringify(column.mapFromDriverValue(text)) === text
  );
}

function jsValueOf(column: AnySQLiteColumn | AnyPgColumn): ColumnShape['value'] {
  if (storesJsonText(column)) return 'json';
  if (column.dataType === 'number' || column.dataType === 'string') return column.dataType;
  return `other:${column.columnType}`;
}

function columnShape(column: AnySQLiteColumn | AnyPgColumn, generated: boolean): ColumnShape {
  return {
    name: column.name,
    value: jsValueOf(column),
    notNull: column.notNull,
    hasDefault: column.hasDefault,
    default: column.default,
    generated,
    primary: column.primary,
    unique: column.isUnique ? (column.uniqueName ?? '') : false,
    enumValues: column.enumValues,
  };
}

/** A column of an index or key: a column (it has a name) or an expression (SQL). */
type IndexColumn = object;
const columnNames = (columns: readonly IndexColumn[]): string[] =>
  columns.map((column) =>
    'name' in column && typeof column.name === 'string' ? column.name : '<expression>',
  );

/** What both dialects' `getTableConfig` answer, as far as the shape needs it. */
interface TableConfigLike {
  name: string;
  columns: (AnySQLiteColumn | AnyPgColumn)[];
  indexes: { config: { name?: string; columns: IndexColumn[]; unique: boolean; where?: SQL | undefined } }[];
  primaryKeys: { columns: IndexColumn[] }[];
  uniqueConstraints: { name?: string | undefined; columns: IndexColumn[] }[];
  checks: { name: string; value: SQL }[];
  foreignKeys: {
    reference(): { columns: IndexColumn[]; foreignTable: Table; foreignColumns: IndexColumn[] };
  }[];
}

function shapeOf(
  config: TableConfigLike,
  dialect: { sqlToQuery(sql: SQL): { sql: string } },
  generated: (column: AnySQLiteColumn | AnyPgColumn) => boolean,
): TableShape {
  // pg-core qualifies a column with its schema and table, sqlite-core with its table; a check or an
  // index condition only names columns of its own table, so the qualifiers say nothing
  const render = (value: SQL | undefined) =>
    value ? dialect.sqlToQuery(value).sql.replaceAll(/(?:"[^"]*"\.)+(?=")/g, '') : undefined;
  return {
    name: config.name,
    columns: config.columns.map((column) => columnShape(column, generated(column))),
    indexes: config.indexes.map(({ config: index }) => ({
      name: index.name ?? '<unnamed>',
      columns: columnNames(index.columns),
      unique: index.unique,
      where: render(index.where),
    })),
    primaryKeys: config.primaryKeys.map((key) => columnNames(key.columns)),
    uniques: config.uniqueConstraints.map((u) => ({ name: u.name, columns: columnNames(u.columns) })),
    checks: config.checks.map((check) => ({ name: check.name, sql: render(check.value) ?? '' })),
    foreignKeys: config.foreignKeys.map((key) => {
      const ref = key.reference();
      return {
        columns: columnNames(ref.columns),
        table: getTableName(ref.foreignTable),
        foreignColumns: columnNames(ref.foreignColumns),
      };
    }),
  };
}

const sqliteDialect = new SQLiteSyncDialect();
const pgDialect = new PgDialect();

export const sqliteShape = (table: SQLiteTable): TableShape =>
  // INTEGER PRIMARY KEY is the rowid: SQLite numbers it, AUTOINCREMENT or not
  shapeOf(
    getSqliteConfig(table),
    sqliteDialect,
    (column) => column.primary && column.getSQLType() === 'integer' && column.default === undefined,
  );

export const pgShape = (table: PgTable): TableShape =>
  shapeOf(
    getPgConfig(table),
    pgDialect,
    (column) =>
      /Serial/.test(column.columnType) ||
      ('generatedIdentity' in column && column.generatedIdentity !== undefined),
  );

/** The sqlite-core tables a schema file exports, by table name. */
export const sqliteTablesOf = (exports: Record<string, unknown>): Map<string, SQLiteTable> =>
  new Map(
    Object.values(exports)
      .filter((value): value is SQLiteTable => is(value, SQLiteTable))
      .map((table) => [getTableName(table), table]),
  );

/** The pg-core tables a schema file exports, by table name. */
export const pgTablesOf = (exports: Record<string, unknown>): Map<string, PgTable> =>
  new Map(
    Object.values(exports)
      .filter((value): value is PgTable => is(value, PgTable))
      .map((table) => [getTableName(table), table]),
  );
