/**
 * drizzle has no table definition shared by dialects, so every SQLite table (`schema.ts`) has a
 * PostgreSQL twin (`schema.pg.ts`), and the kernel's tables too (`kernel-schema.ts`,
 * `kernel-schema.pg.ts`). This spec keeps each pair from drifting apart: the same tables, columns
 * in the same order with the same name, nullability, default, key and JS value, the same indexes
 * (partial ones too), keys, unique and check constraints; and, at compile time, the same row types,
 * so module code runs unchanged on either database. Modules are found on disk: a module with a
 * `schema.ts` must have a `schema.pg.ts`.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InferInsertModel, InferSelectModel, Table } from 'drizzle-orm';
import { getTableConfig } from 'drizzle-orm/pg-core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as kernelSqlite from '../../src/kernel/persistence/kernel-schema.js';
import { type KernelPgTables, kernelPgTables } from '../../src/kernel/persistence/kernel-schema.pg.js';
import type * as analytics from '../../src/modules/analytics/schema.js';
import type * as analyticsPg from '../../src/modules/analytics/schema.pg.js';
import type * as inventory from '../../src/modules/inventory/schema.js';
import type * as inventoryPg from '../../src/modules/inventory/schema.pg.js';
import type * as notifications from '../../src/modules/notifications/schema.js';
import type * as notificationsPg from '../../src/modules/notifications/schema.pg.js';
import type * as orders from '../../src/modules/orders/schema.js';
import type * as ordersPg from '../../src/modules/orders/schema.pg.js';
import type * as payments from '../../src/modules/payments/schema.js';
import type * as paymentsPg from '../../src/modules/payments/schema.pg.js';
import type * as users from '../../src/modules/users/schema.js';
import type * as usersPg from '../../src/modules/users/schema.pg.js';
import type * as webhooks from '../../src/modules/webhooks/schema.js';
import type * as webhooksPg from '../../src/modules/webhooks/schema.pg.js';
import { pgShape, pgTablesOf, sqliteShape, sqliteTablesOf } from './table-shape.js';

const MODULES_DIR = fileURLToPath(new URL('../../src/modules', import.meta.url));

/** The row types (select and insert) of every table a schema file exports, by export name. */
type Rows<N> = {
  // a module namespace's members are readonly, kernelPgTables' are not: irrelevant here
  -readonly [K in keyof N as N[K] extends Table ? K : never]: N[K] extends Table
    ? { select: InferSelectModel<N[K]>; insert: InferInsertModel<N[K]> }
    : never;
};

// Compile time (`npm run typecheck`): a twin whose row types differ fails here, naming the table.
expectTypeOf<Rows<KernelPgTables>>().toEqualTypeOf<Rows<typeof kernelSqlite>>();
expectTypeOf<Rows<typeof analyticsPg>>().toEqualTypeOf<Rows<typeof analytics>>();
expectTypeOf<Rows<typeof inventoryPg>>().toEqualTypeOf<Rows<typeof inventory>>();
expectTypeOf<Rows<typeof notificationsPg>>().toEqualTypeOf<Rows<typeof notifications>>();
expectTypeOf<Rows<typeof ordersPg>>().toEqualTypeOf<Rows<typeof orders>>();
expectTypeOf<Rows<typeof paymentsPg>>().toEqualTypeOf<Rows<typeof payments>>();
expectTypeOf<Rows<typeof usersPg>>().toEqualTypeOf<Rows<typeof users>>();
expectTypeOf<Rows<typeof webhooksPg>>().toEqualTypeOf<Rows<typeof webhooks>>();
/** The modules whose row types are compared above: a new module must join the list. */
const TYPE_CHECKED = ['analytics', 'inventory', 'notifications', 'orders', 'payments', 'users', 'webhooks'];

const modulesWithSchema = readdirSync(MODULES_DIR)
  .filter((module) => existsSync(join(MODULES_DIR, module, 'schema.ts')))
  .sort();

function expectTwins(
  sqliteExports: Record<string, unknown>,
  pgExports: Record<string, unknown>,
  schema: string,
) {
  const sqliteTables = sqliteTablesOf(sqliteExports);
  const pgTables = pgTablesOf(pgExports);
  expect(sqliteTables.size).toBeGreaterThan(0);
  expect([...pgTables.keys()].sort()).toEqual([...sqliteTables.keys()].sort());
  for (const [name, sqliteTable] of sqliteTables) {
    const pgTable = pgTables.get(name);
    if (!pgTable) throw new Error(`${name}: no PostgreSQL twin`);
    expect(getTableConfig(pgTable).schema, `${name}: its PostgreSQL schema`).toBe(schema);
    expect(pgShape(pgTable), name).toEqual(sqliteShape(sqliteTable));
  }
}

describe('SQLite and PostgreSQL table definitions', () => {
  it('finds the modules with tables', () => {
    expect(modulesWithSchema).toContain('orders');
  });

  it('the kernel tables are twins in any module schema', () => {
    expectTwins(kernelSqlite, kernelPgTables('orders'), 'orders');
  });

  it.each(modulesWithSchema)('%s: schema.pg.ts is the twin of schema.ts', async (module) => {
    const pgFile = join(MODULES_DIR, module, 'schema.pg.ts');
    expect(existsSync(pgFile), `src/modules/${module}/schema.pg.ts is missing`).toBe(true);
    const sqliteExports: Record<string, unknown> = await import(join(MODULES_DIR, module, 'schema.ts'));
    const pgExports: Record<string, unknown> = await import(pgFile);
    expectTwins(sqliteExports, pgExports, module);
  });

  it("compares every module's row types at compile time", () => {
    expect(TYPE_CHECKED).toEqual(modulesWithSchema);
  });
});
