import { integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * The event store: one append-only stream per account (account id = user id). The primary key
 * (account_id, version) is the optimistic-concurrency guard: two writers appending the same next
 * version cannot both commit. Triggers in the migration refuse UPDATE and DELETE.
 */
export const paymentsEvents = sqliteTable(
  'payments_events',
  {
    accountId: text('account_id').notNull(),
    version: integer('version').notNull(),
    type: text('type').notNull(),
    data: text('data').notNull(),
    /**
     * The schema version `data` was written at (ledger-events.ts): a read upcasts older ones, so
     * the stream replays whatever version each event was stored at. 1 for events stored before
     * versions were recorded.
     */
    schemaVersion: integer('schema_version').notNull().default(1),
    /** Epoch ms; never decreases along a stream. */
    occurredAt: integer('occurred_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.version] })],
);

export type EventRow = typeof paymentsEvents.$inferSelect;

/**
 * Snapshots: the replayed state of an account at `version` (balance and version), saved every
 * SNAPSHOT_EVERY events in the transaction that appends them, so a command replays at most that
 * many events. Derived data: deleting them only makes loads slower.
 */
export const paymentsSnapshots = sqliteTable('payments_snapshots', {
  accountId: text('account_id').primaryKey(),
  version: integer('version').notNull(),
  balanceCents: integer('balance_cents').notNull(),
  /** Epoch ms of the event at `version` (an "as of" query may start here when it is not later). */
  occurredAt: integer('occurred_at').notNull(),
});

export type SnapshotRow = typeof paymentsSnapshots.$inferSelect;

/**
 * Each order's payment as the account's stream left it (the latest of its events, with the
 * balance right after), written in the transaction that appends those events: a charge or a
 * refund looks its order up here instead of carrying every order of the account in its state.
 * Derived from the stream (migration 0001 built it from the events already there).
 */
export const paymentsOrderPayments = sqliteTable(
  'payments_order_payments',
  {
    accountId: text('account_id').notNull(),
    orderId: text('order_id').notNull(),
    status: text('status', { enum: ['charged', 'refunded', 'failed', 'closed'] }).notNull(),
    /** Absent for a closed order (never charged). */
    amountCents: integer('amount_cents'),
    /** Why a charge failed. */
    reason: text('reason'),
    balanceCents: integer('balance_cents').notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.orderId] })],
);

export type OrderPaymentRow = typeof paymentsOrderPayments.$inferSelect;
