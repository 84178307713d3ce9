import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/**
 * Kernel tables. Every module database carries its own copy (migrations/kernel is applied to each),
 * so a module's state, its outbox, its inbox and its sagas always commit in one SQLite transaction.
 * Their PostgreSQL twins are in `kernel-schema.pg.ts` (a change here is a change there too).
 */

/**
 * Transactional outbox: a row exists iff the transaction that staged it committed. Ids are
 * random UUIDs made by the kernel and never looked up here, so they have no index: every index
 * is one more page each commit writes (dropped in 0002).
 */
export const kernelOutbox = sqliteTable(
  'kernel_outbox',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    id: text('id').notNull(),
    type: text('type').notNull(),
    partitionKey: text('partition_key').notNull(),
    envelope: text('envelope').notNull(),
    createdAt: integer('created_at').notNull(),
    publishedAt: integer('published_at'),
  },
  (t) => [
    index('kernel_outbox_pending').on(t.seq).where(sql`published_at IS NULL`),
    // The pruner deletes published rows oldest first (persistence/pruner.ts). Partial, so staging
    // writes nothing to it: a row enters it once, when the relay marks its batch published.
    index('kernel_outbox_published').on(t.publishedAt).where(sql`published_at IS NOT NULL`),
  ],
);

/**
 * Inbox: one row per (consumer, message) that a handler has committed, kept for the inbox window
 * (INBOX_RETENTION_HOURS) and then deleted by the pruner, oldest first by `handled_at`.
 */
export const kernelInbox = sqliteTable(
  'kernel_inbox',
  {
    consumer: text('consumer').notNull(),
    messageId: text('message_id').notNull(),
    handledAt: integer('handled_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.consumer, t.messageId] }),
    // For the pruner: rows are appended in time order, so each commit adds to its last page.
    index('kernel_inbox_handled').on(t.handledAt),
  ],
);

/**
 * Event publication registry of the in-memory transport: one row per (message, consumer) delivery,
 * written when the message is published and deleted in the transaction that handles it.
 */
export const kernelDeliveries = sqliteTable(
  'kernel_deliveries',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    consumer: text('consumer').notNull(),
    messageId: text('message_id').notNull(),
    partitionKey: text('partition_key').notNull(),
    envelope: text('envelope').notNull(),
    attempts: integer('attempts').notNull().default(0),
    availableAt: integer('available_at').notNull(),
    lastError: text('last_error'),
  },
  (t) => [
    // The memory transport picks deliveries from an in-memory index; the rows are read by seq.
    uniqueIndex('kernel_deliveries_message').on(t.consumer, t.messageId),
  ],
);

/** Dead letters of this module's consumers (queue `dlq.<module>.retry`). */
export const kernelDeadLetters = sqliteTable(
  'kernel_dead_letters',
  {
    id: text('id').primaryKey(),
    consumer: text('consumer').notNull(),
    queue: text('queue').notNull(),
    messageId: text('message_id'),
    type: text('type'),
    /** The message as received: an envelope's JSON, or the raw text of a message that was not one. */
    payload: text('payload').notNull(),
    error: text('error').notNull(),
    attempts: integer('attempts').notNull(),
    failedAt: integer('failed_at').notNull(),
    /** When a replay first claimed it (the letter is deleted once the redelivery is accepted). */
    replayedAt: integer('replayed_at'),
  },
  (t) => [
    index('kernel_dead_letters_consumer').on(t.consumer, t.failedAt),
    // GET /admin/dead-letters: keyset pages in (failed_at, id) order.
    index('kernel_dead_letters_failed').on(t.failedAt, t.id),
  ],
);

/** Saga instances owned by this module. */
export const kernelSagas = sqliteTable(
  'kernel_sagas',
  {
    name: text('name').notNull(),
    id: text('id').notNull(),
    status: text('status').notNull(),
    step: text('step').notNull(),
    state: text('state').notNull(),
    /**
     * JSON `{ steps, awaiting }`: the steps started so far, oldest first, with their compensations
     * and the reply each awaits, and the replies still awaited while compensating (older rows: the
     * steps array alone).
     */
    steps: text('steps').notNull(),
    reason: text('reason'),
    correlationId: text('correlation_id').notNull(),
    /** The id of the last message the instance sent: the cause of what a step timeout sends. */
    lastSentId: text('last_sent_id'),
    /**
     * The outbox `seq` of that message: its step deadline counts from when the relay published it
     * (the row's `published_at`), and its partition key orders the step timeout behind the reply.
     */
    lastSentSeq: integer('last_sent_seq'),
    deadline: integer('deadline'),
    version: integer('version').notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.name, t.id] }),
    index('kernel_sagas_deadline').on(t.deadline).where(sql`deadline IS NOT NULL`),
    index('kernel_sagas_status').on(t.status),
    // GET /admin/sagas: keyset pages, newest started first.
    index('kernel_sagas_created').on(t.createdAt, t.name, t.id),
  ],
);

/**
 * Leases between the processes that share this database (several instances of a module on one
 * host): `outbox-relay` makes one relay at a time publish, in outbox order. A holder renews its
 * lease; another process takes it over once it has expired (or at once when the holder, on this
 * host, is a dead process).
 */
export const kernelLeases = sqliteTable('kernel_leases', {
  name: text('name').primaryKey(),
  /** `<hostname>:<pid>:<nonce>` of the holder. */
  holder: text('holder').notNull(),
  expiresAt: integer('expires_at').notNull(),
});

/**
 * This module's copy of the accounts' token state (docs/adr/0022), fed by the account owner's
 * events: one row per account that ever changed. `seq` grows with every change written, so the
 * processes sharing this database pick up each other's writes by reading past the last one seen.
 */
export const kernelAccounts = sqliteTable(
  'kernel_accounts',
  {
    userId: text('user_id').primaryKey(),
    role: text('role').notNull(),
    tokenVersion: integer('token_version').notNull(),
    /** 1 once the account is deleted (an integer, as on PostgreSQL: the twins read alike). */
    deleted: integer('deleted').notNull(),
    seq: integer('seq').notNull(),
  },
  (t) => [uniqueIndex('kernel_accounts_seq').on(t.seq)],
);
