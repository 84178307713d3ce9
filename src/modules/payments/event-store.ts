import { and, asc, desc, eq, gt, lte, sql } from 'drizzle-orm';
import { type Db, preparedOnce } from '../../kernel/index.js';
import { ACCOUNT_EVENT_TYPES, type Account, type AccountEvent, emptyAccount, evolve } from './account.js';
import { type EventRow, paymentsEvents } from './schema.js';
import { readSnapshot, snapshotIfDue } from './snapshots.js';

/** An event as stored in an account's stream. */
export type StoredEvent = AccountEvent & { readonly version: number; readonly occurredAt: number };

/** Another writer appended to the stream since it was read: reload and decide again. */
export class ConcurrencyConflictError extends Error {
  override readonly name = 'ConcurrencyConflictError';
  constructor(accountId: string, expected: number, actual: number) {
    super(`payments account ${accountId}: expected version ${expected}, found ${actual}`);
  }
}

function toEvent(row: EventRow): StoredEvent {
  if (!(ACCOUNT_EVENT_TYPES as readonly string[]).includes(row.type)) {
    throw new Error(`payments account ${row.accountId} v${row.version}: unknown event type ${row.type}`);
  }
  const event = { type: row.type, data: JSON.parse(row.data) } as AccountEvent;
  return { ...event, version: row.version, occurredAt: row.occurredAt };
}

export interface StreamRange {
  /** Only events after this version. */
  readonly after?: number;
  /** Only events that occurred at or before this time (epoch ms). */
  readonly until?: number;
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
    .prepare();

/** The account's events, oldest first. */
export function readStream(db: Db, accountId: string, { after = 0, until }: StreamRange = {}): StoredEvent[] {
  return preparedOnce(db, streamRange)
    .all({ accountId, after, until: until ?? Number.MAX_SAFE_INTEGER })
    .map(toEvent);
}

/** The account now, or as of `until` (epoch ms): the latest usable snapshot plus the events after it. */
export function loadAccount(db: Db, accountId: string, until?: number): Account {
  const start = readSnapshot(db, accountId, until) ?? emptyAccount(accountId);
  return evolve(start, readStream(db, accountId, { after: start.version, until }));
}

const streamHead = (db: Db) =>
  db
    .select({ version: paymentsEvents.version, occurredAt: paymentsEvents.occurredAt })
    .from(paymentsEvents)
    .where(eq(paymentsEvents.accountId, sql.placeholder('accountId')))
    .orderBy(desc(paymentsEvents.version))
    .limit(1)
    .prepare();

function head(db: Db, accountId: string): { version: number; occurredAt: number } {
  return preparedOnce(db, streamHead).get({ accountId }) ?? { version: 0, occurredAt: 0 };
}

/**
 * Appends events to the stream of `account` if its version is still `account.version` (else
 * ConcurrencyConflictError; the primary key backs this up against any writer that skips the
 * check). Times never go backwards along a stream, so "as of" queries see a prefix of it.
 * Returns the account with the events applied. Call inside a transaction.
 */
export function append(db: Db, account: Account, events: readonly AccountEvent[], now = Date.now()): Account {
  const current = head(db, account.id);
  if (current.version !== account.version) {
    throw new ConcurrencyConflictError(account.id, account.version, current.version);
  }
  const occurredAt = Math.max(now, current.occurredAt);
  events.forEach((event, i) => {
    const version = account.version + i + 1;
    try {
      db.insert(paymentsEvents)
        .values({
          accountId: account.id,
          version,
          type: event.type,
          data: JSON.stringify(event.data),
          occurredAt,
        })
        .run();
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      throw new ConcurrencyConflictError(account.id, version - 1, head(db, account.id).version);
    }
  });
  const next = evolve(account, events);
  snapshotIfDue(db, account, next, occurredAt);
  return next;
}

/** A primary-key violation, as better-sqlite3 reports it (drizzle wraps it in `cause`). */
function isDuplicateKey(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return true;
  }
  return false;
}
