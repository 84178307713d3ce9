import type { Writable } from 'node:stream';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { retryingWriteConflicts } from './conflicts.js';
import type { Db, Durability } from './handle.js';
import { quoteIdentifier } from './migrate-postgres.js';
import {
  type Bindings,
  numberPlaceholders,
  orderedValues,
  type Statement,
  type StatementOptions,
} from './statement.js';
import {
  afterCommit,
  type OpenTransaction,
  openTransaction,
  runAfterCommit,
  runInTransaction,
} from './transaction-scope.js';

/**
 * A module's database on PostgreSQL: the module's schema (named after the module) in the database
 * of its URL (`DATABASE_URL_<MODULE>`, else `DATABASE_URL`). The twin of the SQLite backend
 * (`db.ts`), with the same guarantees on `transaction`; instances of a module may share it from
 * several hosts.
 */
export interface PostgresModuleDatabase {
  readonly dialect: 'postgres';
  readonly module: string;
  /** The module's schema: every unqualified name resolves there (`search_path`), and only there. */
  readonly schema: string;
  readonly pool: pg.Pool;
  /**
   * drizzle on this database: inside a transaction of it, on the transaction's client (its own
   * writes are visible); outside, on the pool (committed rows only). Typed as the module's `Db`
   * (sqlite-core's): module code is written once against its `schema.ts` tables, which run here
   * unchanged because each `schema.pg.ts` twin stores the same driver values (checked by the drift
   * spec); module code keeps to the awaited, dialect-neutral calls (persistence/prepared.ts).
   */
  readonly db: Db;
  /** The same handle as `db` (it follows the calling transaction): what `tx.db` is. */
  readonly writerDb: Db;
  /**
   * Runs fn in one transaction on a client of its own from the pool, and resolves with what it
   * returned (awaited) once committed; rejects, rolled back, if it throws or rejects. Transactions
   * run concurrently (PostgreSQL's row locks order conflicting writes, not a queue here); one that
   * fails on a write conflict (persistence/conflicts.ts) is rolled back and run again. A call
   * made inside fn (in its async context, while it is open) is a savepoint of it: await nested
   * calls one after the other, never several at once.
   */
  transaction<T>(fn: () => T | Promise<T>): Promise<T>;
  /** Whether the calling code runs inside an open transaction of this database. */
  inTransaction(): boolean;
  /** Runs fn once the calling code's transaction has committed, as on SQLite (db.ts). */
  afterCommit(fn: () => void): void;
  /** False once `close` was called. */
  isOpen(): boolean;
  /**
   * One statement (`$1`… placeholders): on the transaction's client inside a transaction of this
   * database, on the pool outside. `bigint` columns are read as JS numbers (every one the kernel
   * and the modules keep, epoch milliseconds and cents, is below 2^53).
   */
  query<Row extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: readonly unknown[],
  ): Promise<pg.QueryResult<Row>>;
  /** A kernel statement (persistence/statement.ts): on the transaction's client inside one, else on the pool. */
  statement<Params extends Bindings = unknown[], Row = unknown>(
    source: string,
    options?: StatementOptions,
  ): Statement<Params, Row>;
  /** Ends the pool; waits for clients in use to be released and every connection to close. */
  close(): Promise<void>;
}

export interface PostgresDatabaseOptions {
  readonly durability?: Durability;
  /**
   * Clients in the pool (default 4): one per transaction in flight. A module's instances each keep
   * a pool per module, and PostgreSQL's default limit is 100 connections in all; the benchmark ran
   * as fast with 3 as with 10 (scripts/bench/findings.md).
   */
  readonly maxConnections?: number;
  /** How long taking a client waits for a connection before it fails (default 5 s). */
  readonly connectTimeoutMs?: number;
}

/**
 * `process`: `synchronous_commit=off` (a commit returns before its WAL reaches the disk: the app
 * being killed loses nothing, the server crashing may lose the last moments of commits, never
 * corrupt anything); `power`: `on` (the server's default, an fsync per commit).
 */
const SYNCHRONOUS_COMMIT: Record<Durability, string> = { process: 'off', power: 'on' };

const INT8_OID = 20;
/** `bigint` as a JS number instead of node-postgres's string: kernel and module values fit in 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

const withInt8AsNumber = (parsers: typeof types | undefined): typeof types =>
  parsers === undefined
    ? types
    : {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID ? Number : parsers.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      };

/** The drizzle handles of PostgreSQL module databases (a module's `Db` may be one of them). */
const postgresHandles = new WeakSet<object>();

/** Whether `db` runs on PostgreSQL (a module's handle is typed as SQLite's: see persistence/prepared.ts). */
export const isPostgresHandle = (db: object): boolean => postgresHandles.has(db);

export function openPostgresModuleDatabase(
  url: string,
  module: string,
  options: PostgresDatabaseOptions = {},
): PostgresModuleDatabase {
  const schema = module;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 4,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    types,
    // queries issued without waiting for the one before share its round trip (BEGIN, below)
    pipeline: true,
    application_name: `modulith:${module}`,
    options: `-c search_path=${quoteIdentifier(schema)} -c synchronous_commit=${SYNCHRONOUS_COMMIT[options.durability ?? 'process']}`,
  });
  // An idle client whose server went away emits 'error' on the pool; without a listener that would
  // end the process. The next query takes a new client (and fails or waits, as a query does).
  pool.on('error', () => {});

  const owner = {};
  const current = (): OpenTransaction<pg.PoolClient> | undefined => openTransaction<pg.PoolClient>(owner);
  const connection = (): pg.Pool | pg.PoolClient => current()?.connection ?? pool;

  const savepoint = async <T>(
    outer: OpenTransaction<pg.PoolClient>,
    fn: () => T | Promise<T>,
  ): Promise<T> => {
    const name = `sp${++outer.savepoints}`;
    await outer.connection.query(`SAVEPOINT ${name}`);
    try {
      const value = await fn();
      await outer.connection.query(`RELEASE SAVEPOINT ${name}`);
      return value;
    } catch (error) {
      await outer.connection
        .query(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`)
        .catch(() => {});
      throw error;
    }
  };

  const transaction = <T>(fn: () => T | Promise<T>): Promise<T> => {
    const outer = current();
    if (outer) return savepoint(outer, fn);
    return retryingWriteConflicts(() => transactionOnce(fn));
  };

  const transactionOnce = async <T>(fn: () => T | Promise<T>): Promise<T> => {
    const client = await pool.connect();
    const open: OpenTransaction<pg.PoolClient> = { owner, connection: client, open: true, savepoints: 0 };
    let broken = false;
    // A checked-out client whose connection dies emits 'error' (unhandled, it would end the
    // process); the query in flight rejects with it anyway, and the client is not reused.
    const lost = () => {
      broken = true;
    };
    client.on('error', lost);
    try {
      // Not awaited: the transaction's first statement is written behind it, in the same round trip
      // (a pipelined connection). Nothing else can be written on this client in between, and a
      // connection that fails under BEGIN fails the statements behind it too; its own outcome is
      // checked before COMMIT.
      const begun = corked(client, () => client.query('BEGIN'));
      begun.catch(() => {}); // read below; a rejection must not go unhandled meanwhile
      try {
        const value = await runInTransaction(open, fn);
        open.open = false;
        await begun;
        await client.query('COMMIT');
        runAfterCommit(open);
        return value;
      } catch (error) {
        open.open = false;
        await client.query('ROLLBACK').catch(() => {
          broken = true; // the connection is gone: the pool must not hand it out again
        });
        throw error;
      }
    } finally {
      open.open = false;
      client.off('error', lost);
      client.release(broken);
    }
  };

  // drizzle runs its statements through this router: the transaction's client or the pool. It
  // also reads int8 as a number there (drizzle passes its own type parsers with each query, which
  // fall back to node-postgres's global ones: int8 as a string). drizzle only calls `query`.
  // drizzle keeps one config per prepared query and passes the values apart (never in the config):
  // its int8-reading twin is made once, not per call.
  const int8Configs = new WeakMap<object, pg.QueryConfig>();
  const withInt8 = (config: pg.QueryConfig & { types?: typeof types }): pg.QueryConfig => {
    let converted = int8Configs.get(config);
    if (converted === undefined) {
      converted = { ...config, types: withInt8AsNumber(config.types) };
      int8Configs.set(config, converted);
    }
    return converted;
  };
  const router = {
    query: (config: pg.QueryConfig & { types?: typeof types }, values?: unknown[]) =>
      connection().query(typeof config === 'string' ? config : withInt8(config), values),
  } as unknown as pg.Pool;
  const db = drizzle({ client: router }) as unknown as Db; // see `db` on the interface
  postgresHandles.add(db);

  return {
    dialect: 'postgres',
    module,
    schema,
    pool,
    db,
    writerDb: db,
    transaction,
    inTransaction: () => current() !== undefined,
    afterCommit: (fn) => afterCommit(owner, fn),
    isOpen: () => !pool.ended,
    query: <Row extends pg.QueryResultRow>(text: string, values?: readonly unknown[]) =>
      connection().query<Row>(text, values as unknown[] | undefined),
    statement: <Params extends Bindings, Row>(source: string, options?: StatementOptions) => {
      const numbered = numberPlaceholders(source);
      const name = statementName(numbered.text);
      const run = (params: unknown[]) =>
        connection().query({ name, text: numbered.text, values: orderedValues(numbered, params) });
      const rows = async (params: unknown[]): Promise<Row[]> => {
        const result = await run(params);
        return (options?.pluck ? result.rows.map((row) => Object.values(row)[0]) : result.rows) as Row[];
      };
      return {
        get: async (...params) => (await rows(params))[0],
        all: (...params) => rows(params),
        run: async (...params) => (await run(params)).rowCount ?? 0,
      } as Statement<Params, Row>;
    },
    close: () => endPool(pool),
  };
}

/**
 * Runs `write` (which sends on the client) with the client's socket corked until the end of this
 * tick: what is sent in the same tick after it (the transaction's first statement, which fn sends
 * before its first await) leaves in the same write. A write to a socket is a system call that wakes
 * the server: on a small machine, one of the largest costs of a transaction here. node-postgres
 * keeps its socket at `connection.stream` (not in its types).
 */
function corked<T>(client: pg.PoolClient, write: () => T): T {
  const stream = (client as unknown as { connection?: { stream?: Partial<Writable> } }).connection?.stream;
  if (typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function') return write();
  stream.cork();
  process.nextTick(() => stream.uncork?.());
  return write();
}

/** One name per kernel statement text, in the whole process (see statementName). */
const statementNames = new Map<string, string>();

/**
 * The name a kernel statement is prepared under: PostgreSQL parses and plans a named statement once
 * per connection, then only binds and executes it (a kernel statement runs for every message). One
 * name per text, so a connection never meets one name for two texts (node-postgres refuses that);
 * the kernel's texts are constants, so the names are few.
 */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `kernel_${statementNames.size + 1}`;
    statementNames.set(text, name);
  }
  return name;
}

/**
 * Ends a pool and resolves once every one of its connections has closed. `pool.end()` alone
 * resolves when the clients leave the pool, while their connections are still closing: a database
 * dropped right after (`DROP DATABASE … WITH (FORCE)`) terminates them, and that error surfaces
 * with no one listening.
 */
export async function endPool(pool: pg.Pool): Promise<void> {
  let open = pool.totalCount;
  const closed = new Promise<void>((resolve) => {
    if (open === 0) resolve();
    pool.on('remove', () => {
      open -= 1;
      if (open === 0) resolve();
    });
  });
  await pool.end();
  await closed;
}

/** SQLSTATEs and socket errors that no waiting mends: the configuration must change. */
const PERMANENT_CODES: Record<string, string> = {
  '28P01': 'the password was refused',
  '28000': 'the server refused this user',
  '3D000': 'the database does not exist',
  '42501': 'the user lacks a privilege the module needs',
  ENOTFOUND: 'the host name does not resolve',
};

/**
 * Why connecting failed for good (wrong password, unknown user or database, missing privilege,
 * unresolvable host), or undefined when waiting may help (refused or reset connection, a server
 * starting up or out of connections).
 */
export function permanentPostgresError(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  const reason = typeof code === 'string' ? PERMANENT_CODES[code] : undefined;
  if (reason === undefined) return undefined;
  const message = error instanceof Error ? error.message : String(error);
  return `${reason} (${message})`;
}

/** Socket errors and SQLSTATE classes of a server that is away, starting, or out of connections. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'EPIPE',
]);
const TRANSIENT_SQLSTATE = /^(08|57P0[1-3]|53300)/;

/**
 * Whether waiting may mend the error: the server refused or dropped the connection, is starting or
 * shutting down, has no connection left, or a connection attempt timed out. Anything else (a
 * refusal, a failing statement) is no reason to wait.
 */
export function transientPostgresError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (TRANSIENT_CODES.has(code) || TRANSIENT_SQLSTATE.test(code))) return true;
  const message = error instanceof Error ? error.message : '';
  return /timeout exceeded when trying to connect|Connection terminated/i.test(message);
}
