import { and, asc, desc, eq, gt, lte, sql } from 'drizzle-orm';
import {
  type Db,
  type HandlerContext,
  type MessageDraft,
  preparedOnce,
  WriteConflictError,
} from '../../kernel/index.js';
import {
  ACCOUNT_EVENT_TYPES,
  type Account,
  type AccountEvent,
  emptyAccount,
  evolve,
  type OrderPayment,
  orderPaymentsAfter,
} from './account.js';
import { ledgerEvents } from './ledger-events.js';
import { findOrderPayment, recordOrderPayment } from './order-payments.js';
import { type EventRow, paymentsEvents } from './schema.js';
import { readSnapshot, snapshotIfDue } from './snapshots.js';

/** An event as stored in an account's stream. */
export type StoredEvent = AccountEvent & { readonly version: number; readonly occurredAt: number };

/** Another writer appended to the stream since it was read: reload and decide again. */
/** A write conflict (the kernel runs the transaction again: it then reads the other writer's events). */
export class ConcurrencyConflictError extends WriteConflictError {
  override readonly name = 'ConcurrencyConflictError';
  /** `actual`: the version found, when it was read (a conflicting insert does not read it). */
  constructor(accountId: string, expected: number, actual?: number) {
    super(`payments account ${accountId}: expected version ${expected}, found ${actual ?? 'a later one'}`);
  }
}

/**
 * A stored row as the event this build knows: its data upcast from the version it was stored at
 * (ledger-events.ts). Throws naming the account and the event when no build can read it, and
 * NewerSchemaVersionError when a newer build stored it in a form this one cannot read (a consumer
 * holds its message for an instance of that build).
 */
function toEvent(row: EventRow): StoredEvent {
  if (!(ACCOUNT_EVENT_TYPES as readonly string[]).includes(row.type)) {
    throw new Error(`payments account ${row.accountId} v${row.version}: unknown event type ${row.type}`);
  }
  const data = ledgerEvents.read(row.type, row.schemaVersion, JSON.parse(row.data));
  // Sound: `read` validated the data against the newest schema of `row.type` (AccountEvent's).
  const event = { type: row.type, data } as AccountEvent;
  return { ...event, version: row.version, occurredAt: row.occurredAt };
}

export interface StreamRange {
  /** Only events after this version. */
  readonly after?: number;
  /** Only events that occurred at or before this time (epoch ms). */
  readonly until?: number;
  /** At most this many events (a page of the stream). */
  readonly limit?: number;
}

const streamRange = (db: Db) =>
  db
    .select()
    .from(paymentsEvents)
    .where(
      and(
        eq(paymentsEvents.accountId, sql.placeholder('accountId')),
        gt(paymentsEvents.version, sql.placeholder('after')),
        lte(paymentsEvents.occurredAt, sql.placeholder('until')),
      ),
    )
    .orderBy(asc(paymentsEvents.version))
    .limit(sql.placeholder('limit'));

/** The account's events, oldest first. */
export async function readStream(
  db: Db,
  accountId: string,
  { after = 0, until, limit }: StreamRange = {},
): Promise<StoredEvent[]> {
  const rows = await preparedOnce(db, streamRange).many({
    accountId,
    after,
    until: until ?? Number.MAX_SAFE_INTEGER,
    limit: limit ?? Number.MAX_SAFE_INTEGER,
  });
  return rows.map(toEvent);
}

/** Accounts kept between transactions, per module database (so per app instance). */
const ACCOUNTS_KEPT = 10_000;
const keptAccounts = new WeakMap<Db, Map<string, Account>>();

const keptFor = (db: Db): Map<string, Account> => {
  let kept = keptAccounts.get(db);
  if (!kept) {
    kept = new Map();
    keptAccounts.set(db, kept);
  }
  return kept;
};

/**
 * The account now, or as of `until` (epoch ms). Now: the state a committed transaction left (see
 * `keepAccount`) when the stream's head is still at its version, else brought up to date from the
 * events after it (another process appended); without one, or as of a past time, the latest
 * usable snapshot plus the events after it. Keeping the state spares a charge the replay of up to
 * 99 events (its cost is in scripts/bench/findings.md).
 */
export async function loadAccount(db: Db, accountId: string, until?: number): Promise<Account> {
  const kept = until === undefined ? keptAccounts.get(db)?.get(accountId) : undefined;
  if (kept) {
    const { version } = await head(db, accountId);
    if (kept.version === version) return kept;
    if (kept.version < version) return evolve(kept, await readStream(db, accountId, { after: kept.version }));
  }
  const start = (await readSnapshot(db, accountId, until)) ?? emptyAccount(accountId);
  return evolve(start, await readStream(db, accountId, { after: start.version, until }));
}

/**
 * Keeps an account's state for the next load. Only a committed state may be kept: a version, once
 * committed, never changes, so a kept state matching the head version is the account. Call it
 * after the transaction that appended the events has committed, never inside it.
 */
export function keepAccount(db: Db, account: Account): void {
  const kept = keptFor(db);
  kept.delete(account.id); // re-inserted last: the Map's order is least recently kept first
  kept.set(account.id, account);
  if (kept.size > ACCOUNTS_KEPT) {
    const oldest = kept.keys().next();
    if (!oldest.done) kept.delete(oldest.value);
  }
}

const streamHead = (db: Db) =>
  db
    .select({ version: paymentsEvents.version, occurredAt: paymentsEvents.occurredAt })
    .from(paymentsEvents)
    .where(eq(paymentsEvents.accountId, sql.placeholder('accountId')))
    .orderBy(desc(paymentsEvents.version))
    .limit(1);

async function head(db: Db, accountId: string): Promise<{ version: number; occurredAt: number }> {
  return (await preparedOnce(db, streamHead).one({ accountId })) ?? { version: 0, occurredAt: 0 };
}

const insertEvent = (db: Db) =>
  db.insert(paymentsEvents).values({
    accountId: sql.placeholder('accountId'),
    version: sql.placeholder('version'),
    type: sql.placeholder('type'),
    data: sql.placeholder('data'),
    schemaVersion: sql.placeholder('schemaVersion'),
    occurredAt: sql.placeholder('occurredAt'),
  });

/** An append's outcome: the account after it, and the payment of each order its events name. */
export interface Appended {
  readonly account: Account;
  readonly orders: ReadonlyMap<string, OrderPayment>;
}

/**
 * Appends events to the stream of `account` if its version is still `account.version` (else
 * ConcurrencyConflictError; the primary key backs this up against any writer that skips the
 * check), and records the payment of each order they name. Times never go backwards along a
 * stream, so "as of" queries see a prefix of it. Call inside a transaction.
 */
export async function append(
  db: Db,
  account: Account,
  events: readonly AccountEvent[],
  now = Date.now(),
): Promise<Appended> {
  const current = await head(db, account.id);
  if (current.version !== account.version) {
    throw new ConcurrencyConflictError(account.id, account.version, current.version);
  }
  const occurredAt = Math.max(now, current.occurredAt);
  const insert = preparedOnce(db, insertEvent);
  for (const [i, event] of events.entries()) {
    const version = account.version + i + 1;
    try {
      await insert.exec({
        accountId: account.id,
        version,
        type: event.type,
        data: JSON.stringify(event.data),
        schemaVersion: ledgerEvents.forStorage(event.type, event.data),
        occurredAt,
      });
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      // The head is not read again: on PostgreSQL the failed insert aborted the transaction, which
      // answers no more queries (the conflict rolls it back on both backends anyway).
      throw new ConcurrencyConflictError(account.id, version - 1);
    }
  }
  const orders = orderPaymentsAfter(account, events);
  for (const [orderId, payment] of orders) await recordOrderPayment(db, account.id, orderId, payment);
  const next = evolve(account, events);
  await snapshotIfDue(db, account, next, occurredAt);
  return { account: next, orders };
}

/**
 * A handler's change of one order's payment, in the handler's transaction: loads the account and
 * the order's payment, appends what `decide` returns, stages `reply` with the order's payment and
 * the account after it; once committed, the new state is kept for the next load. A version
 * conflict throws (the consumer retries).
 */
export async function changeOrderPayment(
  ctx: HandlerContext,
  accountId: string,
  orderId: string,
  decide: (account: Account, payment: OrderPayment | undefined) => readonly AccountEvent[],
  reply: (payment: OrderPayment | undefined, account: Account) => MessageDraft,
): Promise<void> {
  let changed: { db: Db; account: Account } | undefined;
  const committed = await ctx.transact(async (tx) => {
    const account = await loadAccount(tx.db, accountId);
    const payment = await findOrderPayment(tx.db, accountId, orderId);
    const appended = await append(tx.db, account, decide(account, payment));
    await tx.stage(reply(appended.orders.get(orderId) ?? payment, appended.account));
    changed = { db: tx.db, account: appended.account };
  });
  if (committed && changed) keepAccount(changed.db, changed.account);
}

/**
 * A primary-key violation, as better-sqlite3 (SQLITE_CONSTRAINT_PRIMARYKEY) or PostgreSQL (SQLSTATE
 * 23505, unique_violation: the key is the table's only unique constraint) reports it; drizzle
 * wraps it in `cause`.
 */
function isDuplicateKey(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505') return true;
  }
  return false;
}
