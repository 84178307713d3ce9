import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { MessageDraft } from '../messaging/envelope.js';
import type { HandlerContext } from '../messaging/subscription.js';
import { createLogger } from '../observability/logger.js';
import type { Tx } from '../outbox/outbox.js';
import type { Db } from '../persistence/db.js';
import { migratePostgresModule } from '../persistence/migrate-postgres.js';
import { openPostgresModuleDatabase, type PostgresModuleDatabase } from '../persistence/postgres.js';
import { describeNeeding } from './describe-needing.js';

/**
 * PostgreSQL for specs: a throwaway database per spec on a local server (`npm run services` starts
 * one when it is installed). Like the broker specs, a spec is skipped with a printed reason when
 * PostgreSQL does not answer, and fails instead under REQUIRE_BROKERS=1 (CI must run it).
 */

/** A server the specs may create and drop databases on (trust auth locally). */
export const postgresUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Every throwaway database's name starts so: a leftover (a killed run) is easy to tell and drop. */
export const TEST_DATABASE_PREFIX = 'modulith_test_';

const withoutPassword = (url: string): string => {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
};

/** Runs fn on a short-lived connection to the server's database (`postgresUrl`'s). */
async function onServer<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Why PostgreSQL specs cannot run here, or undefined when the server answers a query. */
export async function postgresSkipReason(): Promise<string | undefined> {
  try {
    await onServer((client) => client.query('SELECT 1'));
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return `PostgreSQL does not answer at ${withoutPassword(postgresUrl)} (${message || 'connection failed'}; \
npm run services starts it, TEST_POSTGRES_URL points elsewhere)`;
  }
}

export interface TestDatabase {
  readonly name: string;
  /** The database's URL: the server's, with this database. */
  readonly url: string;
  /** Drops the database, closing whatever connections are left (idempotent). */
  drop(): Promise<void>;
}

/** Creates a uniquely named empty database; `drop()` it in an afterAll/afterEach. */
export async function createTestDatabase(label = 'spec'): Promise<TestDatabase> {
  const name = `${TEST_DATABASE_PREFIX}${label.toLowerCase().replaceAll(/[^a-z0-9]+/g, '_')}_${randomBytes(4).toString('hex')}`;
  await onServer((client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () =>
      onServer((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {}),
  };
}

/** Whether a database of that name exists on the server (a spec checks that it left none behind). */
export const databaseExists = (name: string): Promise<boolean> =>
  onServer(async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return rowCount === 1;
  });

/**
 * `describe` for specs that need PostgreSQL (call it with `await` at the top of the spec): skipped
 * with a printed reason when the server does not answer, a failing test instead under
 * REQUIRE_BROKERS=1.
 */
export async function describeWithPostgres(title: string, fn: () => void): Promise<void> {
  describeNeeding('PostgreSQL', await postgresSkipReason(), title, fn);
}

/**
 * What a spec of a module's queries on PostgreSQL hands the module's handlers, until the kernel
 * runs modules there (its outbox on PostgreSQL is not there yet): a `Tx` whose `db` is the module
 * database's handle (typed as a module's `Db`, as the kernel will cast it) and whose `stage`
 * records the drafts instead of writing an outbox row, and a handler context whose `transact`
 * runs fn in one transaction of the database (no inbox: the handlers' own guards only).
 */
export interface PostgresModuleHarness {
  readonly db: Db;
  readonly tx: Tx;
  /** The drafts staged so far, in order (including those of rolled-back transactions). */
  readonly staged: MessageDraft[];
  readonly handlerContext: HandlerContext;
}

export function postgresModuleHarness(database: PostgresModuleDatabase): PostgresModuleHarness {
  const { db } = database;
  const staged: MessageDraft[] = [];
  const tx: Tx = {
    db,
    stage: async (...messages) => {
      staged.push(...messages);
      return [];
    },
  };
  const handlerContext: HandlerContext = {
    transact: async (fn) => {
      await database.transaction(() => fn(tx));
      return true;
    },
    log: createLogger('silent'),
    attempt: 1,
    module: undefined,
  };
  return { db, tx, staged, handlerContext };
}

/**
 * The module's database on the test database `url` (`openPostgresModuleDatabase`), its schema
 * migrated (`migratePostgresModule`: the kernel's tables and the module's). Close it when done.
 */
export async function openMigratedPostgresModule(
  url: string,
  module: string,
): Promise<PostgresModuleDatabase> {
  const database = openPostgresModuleDatabase(url, module);
  try {
    await migratePostgresModule(database.pool, module);
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}
