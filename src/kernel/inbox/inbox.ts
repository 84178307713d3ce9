import { type Awaitable, andThen } from '../persistence/awaitable.js';
import type { ModuleDatabase } from '../persistence/db.js';

/**
 * The inbox of one module database: which (consumer, message id) pairs have been settled (handled,
 * or dead-lettered after being decoded).
 * Recorded in the same transaction as the handler's writes, so a redelivery changes nothing.
 */
export interface Inbox {
  /** Whether the pair is recorded (an Awaitable: persistence/statement.ts). */
  has(consumer: string, messageId: string): Awaitable<boolean>;
  /**
   * Records the pair unless it is there: true when this call recorded it, false for a message
   * already settled. Run it inside the handler's transaction, first: one statement both checks and
   * records, and on PostgreSQL a copy being handled concurrently waits on the record's key until
   * the first commits (then finds it), or takes over if that one rolls back.
   */
  claim(consumer: string, messageId: string): Awaitable<boolean>;
  /** Lets a dead-lettered message be handled again (replay); inside a transaction. */
  forget(consumer: string, messageId: string): Promise<void>;
}

const isRecorded = (row: unknown): boolean => row !== undefined;

export function createInbox(database: ModuleDatabase): Inbox {
  const select = database.statement('SELECT 1 FROM kernel_inbox WHERE consumer = ? AND message_id = ?', {
    pluck: true,
  });
  const insert = database.statement<[string, string, number], number>(
    'INSERT INTO kernel_inbox (consumer, message_id, handled_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1',
    { pluck: true },
  );
  const remove = database.statement('DELETE FROM kernel_inbox WHERE consumer = ? AND message_id = ?');
  return {
    has: (consumer, messageId) => andThen(select.get(consumer, messageId), isRecorded),
    claim: (consumer, messageId) => andThen(insert.get(consumer, messageId, Date.now()), isRecorded),
    forget: async (consumer, messageId) => {
      await remove.run(consumer, messageId);
    },
  };
}
