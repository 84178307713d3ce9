import { AsyncLocalStorage } from 'node:async_hooks';

/** A write transaction in progress, as the code running inside it sees it (either backend). */
export interface OpenTransaction<Connection = unknown> {
  /** The database it belongs to (the backend's identity token). */
  readonly owner: object;
  /** The connection it runs on (PostgreSQL: its pooled client; SQLite: the module's writer). */
  readonly connection: Connection;
  open: boolean;
  /** Savepoints made so far, for unique names. */
  savepoints: number;
  /** What `afterCommit` queued: run once the transaction has committed. */
  afterCommit?: (() => void)[];
}

/** The write transaction the calling code runs in, if any: one store for every database. */
const scope = new AsyncLocalStorage<OpenTransaction>();

/** Runs fn as the code inside `transaction` (what `openTransaction` then returns, while it is open). */
export function runInTransaction<T>(transaction: OpenTransaction, fn: () => T): T {
  return scope.run(transaction, fn);
}

/** The open transaction of `owner`'s database the calling code runs in, or undefined. */
export function openTransaction<Connection>(owner: object): OpenTransaction<Connection> | undefined {
  const open = scope.getStore();
  return open?.open && open.owner === owner ? (open as OpenTransaction<Connection>) : undefined;
}

/**
 * Runs fn outside any transaction's async context: timers and wake-ups it schedules (a relay pass
 * after a commit, a dispatcher's poll) must not count as code inside the transaction that happened
 * to schedule them, or their own transactions would become its savepoints.
 */
export function outsideTransactions<T>(fn: () => T): T {
  return scope.exit(fn);
}

/**
 * Runs fn once the transaction of `owner`'s database that the calling code runs in has committed
 * (outside its async context), or at once when the calling code runs in none; never after a
 * rollback. For work another connection must see the transaction's rows for: on PostgreSQL a
 * commit is a round trip, so "the next macrotask" may still be before it.
 */
export function afterCommit(owner: object, fn: () => void): void {
  const open = openTransaction(owner);
  if (!open) {
    fn();
    return;
  }
  open.afterCommit ??= [];
  open.afterCommit.push(fn);
}

/** Runs what `afterCommit` queued on a transaction that has just committed (each backend calls it). */
export function runAfterCommit(transaction: OpenTransaction): void {
  const queued = transaction.afterCommit;
  if (!queued) return;
  transaction.afterCommit = undefined;
  outsideTransactions(() => {
    for (const fn of queued) fn();
  });
}
