/**
 * What a PostgreSQL schema holds, read from the catalogue, and what the pg-core definitions say it
 * should hold, in the same terms: the migrator spec compares the two.
 */
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import type pg from 'pg';

export interface TableInDatabase {
  /** `name type null|not null`, in column order. */
  columns: string[];
  primaryKey: string[];
}

/** The SQL type information_schema reports for a column drizzle declares with this type. */
const CATALOGUE_TYPE: Record<string, string> = { bigserial: 'bigint', serial: 'integer' };

export function expectedTable(table: PgTable): TableInDatabase {
  const config = getTableConfig(table);
  const sqlType = (type: string) => CATALOGUE_TYPE[type] ?? type;
  return {
    columns: config.columns.map(
      (c) => `${c.name} ${sqlType(c.getSQLType())} ${c.notNull ? 'not null' : 'null'}`,
    ),
    primaryKey:
      config.primaryKeys[0]?.columns.map((c) => c.name) ??
      config.columns.filter((c) => c.primary).map((c) => c.name),
  };
}

/** Names of the indexes a definition declares, unique columns' included. */
export function expectedIndexes(table: PgTable): string[] {
  const config = getTableConfig(table);
  return [
    ...config.indexes.map((index) => index.config.name ?? ''),
    ...config.columns.filter((c) => c.isUnique).map((c) => c.uniqueName ?? ''),
  ];
}

export async function tablesIn(client: pg.ClientBase, schema: string): Promise<string[]> {
  const { rows } = await client.query<{ table_name: string }>(
    'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
    [schema],
  );
  return rows.map((row) => row.table_name);
}

export async function tableIn(
  client: pg.ClientBase,
  schema: string,
  table: string,
): Promise<TableInDatabase> {
  const columns = await client.query<{ column_name: string; data_type: string; is_nullable: string }>(
    `SELECT column_name, data_type, is_nullable FROM information_schema.columns
     WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
    [schema, table],
  );
  const key = await client.query<{ column_name: string }>(
    `SELECT k.column_name FROM information_schema.table_constraints c
     JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name)
     WHERE c.table_schema = $1 AND c.table_name = $2 AND c.constraint_type = 'PRIMARY KEY'
     ORDER BY k.ordinal_position`,
    [schema, table],
  );
  return {
    columns: columns.rows.map(
      (c) => `${c.column_name} ${c.data_type} ${c.is_nullable === 'YES' ? 'null' : 'not null'}`,
    ),
    primaryKey: key.rows.map((row) => row.column_name),
  };
}

export async function indexesIn(client: pg.ClientBase, schema: string): Promise<string[]> {
  const { rows } = await client.query<{ indexname: string }>(
    'SELECT indexname FROM pg_indexes WHERE schemaname = $1',
    [schema],
  );
  return rows.map((row) => row.indexname);
}

/** Rows of a bookkeeping table (`__migrations_<folder>`) in a schema. */
export async function bookkeeping(client: pg.ClientBase, schema: string, folder: string): Promise<string[]> {
  const { rows } = await client.query<{ hash: string }>(
    `SELECT hash FROM "${schema}"."__migrations_${folder}" ORDER BY id`,
  );
  return rows.map((row) => row.hash);
}
