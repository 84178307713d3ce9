import { bigint, integer, pgSchema, primaryKey, text } from 'drizzle-orm/pg-core';

/**
 * The payments tables on PostgreSQL, in schema `payments`: the twins of `schema.ts` (read it for
 * what each table is for), with the same row types. Amounts and balances are `bigint` (a deposit
 * may be 1e11 cents; read as JS numbers), like every epoch-ms time; a stream's version stays
 * `integer`. The triggers that keep `payments_events` append-only are in the migration.
 *
 * The schema object is not exported: drizzle-kit would write `CREATE SCHEMA` into the migration,
 * and the migrator creates the schema itself before the kernel tables go in.
 */
const payments = pgSchema('payments');

export const paymentsEvents = payments.table(
  'payments_events',
  {
    accountId: text('account_id').notNull(),
    version: integer('version').notNull(),
    type: text('type').notNull(),
    data: text('data').notNull(),
    schemaVersion: integer('schema_version').notNull().default(1),
    occurredAt: bigint('occurred_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.version] })],
);

export const paymentsSnapshots = payments.table('payments_snapshots', {
  accountId: text('account_id').primaryKey(),
  version: integer('version').notNull(),
  balanceCents: bigint('balance_cents', { mode: 'number' }).notNull(),
  occurredAt: bigint('occurred_at', { mode: 'number' }).notNull(),
});

export const paymentsOrderPayments = payments.table(
  'payments_order_payments',
  {
    accountId: text('account_id').notNull(),
    orderId: text('order_id').notNull(),
    status: text('status', { enum: ['charged', 'refunded', 'failed', 'closed'] }).notNull(),
    amountCents: bigint('amount_cents', { mode: 'number' }),
    reason: text('reason'),
    balanceCents: bigint('balance_cents', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.orderId] })],
);
