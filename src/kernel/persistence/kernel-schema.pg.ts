import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  index,
  integer,
  type PgTableFn,
  pgSchema,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/**
 * The kernel tables on PostgreSQL: the twins of `kernel-schema.ts` (same tables, columns, keys and
 * indexes, and the same row types, so kernel code runs unchanged on either; the drift spec
 * `test/persistence/schema-drift.unit.spec.ts` compares them). Read that file for what each table is for.
 *
 * Every module keeps its own kernel tables, in its own schema (named after the module), so its
 * state, outbox, inbox and sagas commit in one transaction there: the tables are built per
 * schema, `kernelPgTables('orders')` for the orders module.
 *
 * Types: epoch-ms times, sequence numbers and the seq that points at one are `bigint` (read as JS
 * numbers: exact up to 2^53), since epoch-ms left int4 in 1970; small bounded counters (attempts,
 * a saga's version) stay `integer`. SQLite's `AUTOINCREMENT` is `bigserial`.
 */
function defineKernelTables<S extends string | undefined>(table: PgTableFn<S>) {
  const kernelOutbox = table(
    'kernel_outbox',
    {
      seq: bigserial('seq', { mode: 'number' }).primaryKey(),
      id: text('id').notNull(),
      type: text('type').notNull(),
      partitionKey: text('partition_key').notNull(),
      envelope: text('envelope').notNull(),
      createdAt: bigint('created_at', { mode: 'number' }).notNull(),
      publishedAt: bigint('published_at', { mode: 'number' }),
    },
    (t) => [
      index('kernel_outbox_pending').on(t.seq).where(sql`published_at IS NULL`),
      index('kernel_outbox_published').on(t.publishedAt).where(sql`published_at IS NOT NULL`),
    ],
  );

  const kernelInbox = table(
    'kernel_inbox',
    {
      consumer: text('consumer').notNull(),
      messageId: text('message_id').notNull(),
      handledAt: bigint('handled_at', { mode: 'number' }).notNull(),
    },
    (t) => [
      primaryKey({ columns: [t.consumer, t.messageId] }),
      index('kernel_inbox_handled').on(t.handledAt),
    ],
  );

  const kernelDeliveries = table(
    'kernel_deliveries',
    {
      seq: bigserial('seq', { mode: 'number' }).primaryKey(),
      consumer: text('consumer').notNull(),
      messageId: text('message_id').notNull(),
      partitionKey: text('partition_key').notNull(),
      envelope: text('envelope').notNull(),
      attempts: integer('attempts').notNull().default(0),
      availableAt: bigint('available_at', { mode: 'number' }).notNull(),
      lastError: text('last_error'),
    },
    (t) => [uniqueIndex('kernel_deliveries_message').on(t.consumer, t.messageId)],
  );

  const kernelDeadLetters = table(
    'kernel_dead_letters',
    {
      id: text('id').primaryKey(),
      consumer: text('consumer').notNull(),
      queue: text('queue').notNull(),
      messageId: text('message_id'),
      type: text('type'),
      payload: text('payload').notNull(),
      error: text('error').notNull(),
      attempts: integer('attempts').notNull(),
      failedAt: bigint('failed_at', { mode: 'number' }).notNull(),
      replayedAt: bigint('replayed_at', { mode: 'number' }),
    },
    (t) => [
      index('kernel_dead_letters_consumer').on(t.consumer, t.failedAt),
      index('kernel_dead_letters_failed').on(t.failedAt, t.id),
    ],
  );

  const kernelSagas = table(
    'kernel_sagas',
    {
      name: text('name').notNull(),
      id: text('id').notNull(),
      status: text('status').notNull(),
      step: text('step').notNull(),
      state: text('state').notNull(),
      steps: text('steps').notNull(),
      reason: text('reason'),
      correlationId: text('correlation_id').notNull(),
      lastSentId: text('last_sent_id'),
      lastSentSeq: bigint('last_sent_seq', { mode: 'number' }),
      deadline: bigint('deadline', { mode: 'number' }),
      version: integer('version').notNull(),
      createdAt: bigint('created_at', { mode: 'number' }).notNull(),
      updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
    },
    (t) => [
      primaryKey({ columns: [t.name, t.id] }),
      index('kernel_sagas_deadline').on(t.deadline).where(sql`deadline IS NOT NULL`),
      index('kernel_sagas_status').on(t.status),
      index('kernel_sagas_created').on(t.createdAt, t.name, t.id),
    ],
  );

  const kernelLeases = table('kernel_leases', {
    name: text('name').primaryKey(),
    holder: text('holder').notNull(),
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
  });

  const kernelAccounts = table(
    'kernel_accounts',
    {
      userId: text('user_id').primaryKey(),
      role: text('role').notNull(),
      tokenVersion: integer('token_version').notNull(),
      deleted: integer('deleted').notNull(),
      seq: bigint('seq', { mode: 'number' }).notNull(),
    },
    (t) => [uniqueIndex('kernel_accounts_seq').on(t.seq)],
  );

  return {
    kernelOutbox,
    kernelInbox,
    kernelDeliveries,
    kernelDeadLetters,
    kernelSagas,
    kernelLeases,
    kernelAccounts,
  };
}

/** The kernel tables of one module on PostgreSQL, in that module's schema. */
export function kernelPgTables(schema: string) {
  return defineKernelTables(pgSchema(schema).table);
}

export type KernelPgTables = ReturnType<typeof kernelPgTables>;

/**
 * The same tables without a schema, for drizzle-kit only (`kernel-schema.pg.unqualified.ts`): its
 * migrations then name no schema, and the migrator applies them into each module's schema through
 * `search_path`. Queries never use these (they would reach `public`).
 */
export function unqualifiedKernelPgTables() {
  return defineKernelTables(pgTable);
}
