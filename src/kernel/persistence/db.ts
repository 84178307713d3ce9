import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { isThenable } from './awaitable.js';
import { isWriteConflict, retryingWriteConflicts } from './conflicts.js';
import type { Db, Durability } from './handle.js';
import type { PostgresModuleDatabase } from './postgres.js';
import type { Bindings, Statement, StatementOptions } from './statement.js';
import { withStatementCache } from './statement-cache.js';
import {
  afterCommit,
  type OpenTransaction,
  openTransaction,
  runAfterCommit,
  runInTransaction,
} from './transaction-scope.js';

export type { Db, Durability } from './handle.js';
export { outsideTransactions } from './transaction-scope.js';

const SYNCHRONOUS: Record<Durability, number> = { process: 1, power: 2 };

/** How long a write transaction waits for another process's write lock before it fails (SQLITE_BUSY). */
export const DEFAULT_LOCK_WAIT_MS = 5000;

/**
 * A write transaction could not start: another process held the module's write lock for longer
 * than the wait allows. Nothing was written; the work can be tried again (HTTP: 503 DATABASE_BUSY).
 */
export class DatabaseBusyError extends Error {
  constructor(
    readonly module: string,
    waitedMs: number,
    options?: ErrorOptions,
  ) {
    super(`the ${module} database is locked by another process (waited ${waitedMs} ms)`, options);
    this.name = 'DatabaseBusyError';
  }
}

export interface DatabaseOptions {
  readonly durability?: Durability;
  readonly lockWaitMs?: number;
}

/** A module's database on either backend: SQLite files in DATA_DIR (the default) or PostgreSQL. */
export type ModuleDatabase = SqliteModuleDatabase | PostgresModuleDatabase;

/** A module's SQLite database: `<module>.db` in DATA_DIR. */
export interface SqliteModuleDatabase {
  readonly dialect: 'sqlite';
  readonly module: string;
  readonly file: string;
  /**
   * The connection writes go through: use it only inside `transaction` (elsewhere another
   * transaction may be open on it, waiting at an `await`, and a statement would join it).
   */
  readonly writer: Database.Database;
  /** A second connection for reads outside transactions: it sees committed rows only. */
  readonly reader: Database.Database;
  /** drizzle over `reader`: the module's reads. */
  readonly db: Db;
  /** drizzle over `writer`: what `tx.db` is. */
  readonly writerDb: Db;
  /**
   * Runs fn in one write transaction and resolves with what it returned (awaited), once committed;
   * rejects, rolled back, if it throws or rejects. fn may await: the write transactions of this
   * database run one at a time (in call order), so nothing else runs on the connection inside
   * one. A call made inside fn (in its async context, while it is open) is a savepoint of it.
   *
   * `BEGIN IMMEDIATE` takes the write lock at once; while another process holds it, the start is
   * retried with backoff on timers (never a busy wait on the event loop) for up to `lockWaitMs`,
   * then fails with a DatabaseBusyError. When nothing waits, a synchronous fn commits in the same tick.
   */
  transaction<T>(fn: () => T | Promise<T>): Promise<T>;
  /** Whether the calling code runs inside an open transaction of this database. */
  inTransaction(): boolean;
  /**
   * Runs fn once the calling code's transaction of this database has committed (outside its async
   * context), at once outside a transaction; never after a rollback. For work on another
   * connection that must see the transaction's rows (the relay's pass after a stage).
   */
  afterCommit(fn: () => void): void;
  /** False once `close` was called. */
  isOpen(): boolean;
  /**
   * A kernel statement, prepared once on each connection: inside a transaction of this database it
   * runs on the writer (it sees the transaction's own writes), outside on the reader (committed
   * rows; a write there fails: the reader is read-only). SQLite runs it synchronously: its methods
   * return the result itself, or throw.
   */
  statement<Params extends Bindings = unknown[], Row = unknown>(
    source: string,
    options?: StatementOptions,
  ): Statement<Params, Row>;
  close(): void;
}

/** The pragmas every module database runs with; asserted when it opens. */
function requiredPragmas(durability: Durability) {
  return {
    journal_mode: 'wal',
    // 0: a locked database answers SQLITE_BUSY at once, and `transaction` waits on timers instead
    // (SQLite's busy handler sleeps on the thread: the whole process froze while one module was locked).
    busy_timeout: 0,
    synchronous: SYNCHRONOUS[durability],
    foreign_keys: 1,
  } as const;
}

/** A reader waits a little for a checkpoint that briefly holds the WAL index. */
const READER_BUSY_TIMEOUT_MS = 50;

export function openModuleDatabase(
  dataDir: string,
  module: string,
  options: DatabaseOptions = {},
): SqliteModuleDatabase {
  const durability = options.durability ?? 'process';
  const lockWaitMs = options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, `${module}.db`);
  const writer = new Database(file);
  const pragmas = requiredPragmas(durability);
  for (const [name, value] of Object.entries(pragmas)) writer.pragma(`${name} = ${value}`);
  assertPragmas(writer, file, pragmas);
  const reader = new Database(file, { readonly: true });
  reader.pragma(`busy_timeout = ${READER_BUSY_TIMEOUT_MS}`);
  const writerDb = drizzle({ client: withStatementCache(writer) });
  const db = drizzle({ client: withStatementCache(reader) });

  const owner = {};
  const begin = writer.prepare('BEGIN IMMEDIATE');
  const commit = writer.prepare('COMMIT');
  const rollback = writer.prepare('ROLLBACK');
  /** Whether a transaction has the writer (begun, or waiting for the lock); the others wait their turn. */
  let turnTaken = false;
  /** What lets each waiting transaction go, in call order. */
  const waiting: (() => void)[] = [];
  /** Passes the turn to the next waiting transaction (it goes on in a microtask), or frees it. */
  const passTurn = (): void => {
    const next = waiting.shift();
    if (next) next();
    else turnTaken = false;
  };

  const current = (): OpenTransaction | undefined => openTransaction(owner);

  /** The SQLITE_BUSY that answered the last `tryBegin` (a DatabaseBusyError's cause). */
  let busy: unknown;
  /** Tries to take the write lock now: false when another process holds it (SQLITE_BUSY). */
  const tryBegin = (): boolean => {
    try {
      begin.run();
      return true;
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
      busy = error;
      return false;
    }
  };

  /** Takes the write lock, waiting on timers while another process holds it. */
  const beginImmediate = async (): Promise<void> => {
    const deadline = Date.now() + lockWaitMs;
    for (let delay = 1; !tryBegin(); delay = Math.min(delay * 2, 50)) {
      if (Date.now() >= deadline) {
        throw new DatabaseBusyError(module, lockWaitMs, { cause: busy });
      }
      await sleep(delay);
    }
  };

  /** Ends the open transaction; a failed COMMIT is rolled back, so the next one can begin. */
  const end = (transaction: OpenTransaction, ok: boolean): void => {
    transaction.open = false;
    if (!writer.inTransaction) return; // SQLite rolled back by itself (a full disk, an I/O error)
    if (!ok) {
      rollback.run();
      return;
    }
    try {
      commit.run();
    } catch (error) {
      if (writer.inTransaction) rollback.run();
      throw error;
    }
    runAfterCommit(transaction);
  };

  /**
   * One top-level transaction, begun, on its turn: ends it (commit, or rollback when fn throws or
   * rejects) and passes the turn on. A thenable fn returns is awaited, with one `then` for both
   * outcomes (a transaction's promises are a visible share of a message's CPU). `retry`: a write
   * conflict runs it again (persistence/conflicts.ts), once the turn has passed on.
   */
  const runTurn = <T>(fn: () => T | Promise<T>, retry: boolean): Promise<T> => {
    const transaction: OpenTransaction = { owner, connection: writer, open: true, savepoints: 0 };
    const finish = (ok: boolean): void => {
      try {
        end(transaction, ok);
      } finally {
        passTurn();
      }
    };
    const rejected = (error: unknown): Promise<T> =>
      retry && isWriteConflict(error)
        ? retryingWriteConflicts(() => transactionOnce(fn, false))
        : Promise.reject(error);
    const failed = (error: unknown): Promise<T> => {
      finish(false);
      return rejected(error);
    };
    const committed = (value: T): T | Promise<T> => {
      try {
        finish(true);
      } catch (error) {
        return rejected(error); // a failed COMMIT (rolled back)
      }
      return value;
    };
    return runInTransaction(transaction, () => {
      let result: T | Promise<T>;
      try {
        result = fn();
      } catch (error) {
        return failed(error);
      }
      return isThenable(result) ? result.then(committed, failed) : Promise.resolve(committed(result));
    });
  };

  const savepoint = async <T>(outer: OpenTransaction, fn: () => T | Promise<T>): Promise<T> => {
    const name = `sp${++outer.savepoints}`;
    writer.exec(`SAVEPOINT ${name}`);
    try {
      const value = await fn();
      writer.exec(`RELEASE ${name}`);
      return value;
    } catch (error) {
      if (writer.inTransaction) writer.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
      throw error;
    }
  };

  const transaction = <T>(fn: () => T | Promise<T>): Promise<T> => {
    const outer = current();
    if (outer) return savepoint(outer, fn);
    // A write conflict runs the transaction again (runTurn); only a stale read (another process's
    // commit) causes one here: writers take turns.
    return transactionOnce(fn, true);
  };

  const transactionOnce = <T>(fn: () => T | Promise<T>, retry: boolean): Promise<T> => {
    if (!turnTaken) {
      // Fast path: nothing open or waiting: start now, in this tick (when the lock is free).
      turnTaken = true;
      return takeTurn(fn, retry);
    }
    return new Promise<void>((go) => waiting.push(go)).then(() => takeTurn(fn, retry));
  };

  /** Begins on this turn, waiting on timers while another process holds the lock; then runs fn. */
  const takeTurn = <T>(fn: () => T | Promise<T>, retry: boolean): Promise<T> => {
    try {
      if (tryBegin()) return runTurn(fn, retry);
    } catch (error) {
      passTurn();
      return Promise.reject(error);
    }
    return beginImmediate().then(
      () => runTurn(fn, retry),
      (error: unknown) => {
        passTurn();
        throw error;
      },
    );
  };

  return {
    dialect: 'sqlite',
    module,
    file,
    writer,
    reader,
    db,
    writerDb,
    transaction,
    inTransaction: () => current() !== undefined,
    afterCommit: (fn) => afterCommit(owner, fn),
    isOpen: () => writer.open,
    statement: <Params extends Bindings, Row>(source: string, options?: StatementOptions) => {
      const prepared = new Map<Database.Database, Database.Statement<unknown[], Row>>();
      const statement = () => {
        const connection = current() ? writer : reader;
        let found = prepared.get(connection);
        if (!found) {
          found = connection.prepare<unknown[], Row>(source);
          if (options?.pluck) found.pluck();
          prepared.set(connection, found);
        }
        return found;
      };
      return {
        get: (...params) => statement().get(...params),
        all: (...params) => statement().all(...params),
        run: (...params) => statement().run(...params).changes,
      } as Statement<Params, Row>;
    },
    close: () => {
      if (reader.open) reader.close();
      if (writer.open) writer.close();
    },
  };
}

function assertPragmas(
  sqlite: Database.Database,
  file: string,
  pragmas: Record<string, string | number>,
): void {
  for (const [name, expected] of Object.entries(pragmas)) {
    const actual = sqlite.pragma(name, { simple: true });
    if (String(actual).toLowerCase() !== String(expected)) {
      throw new Error(`${file}: PRAGMA ${name} is ${String(actual)}, expected ${expected}`);
    }
  }
}
