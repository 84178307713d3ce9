import type { ModuleDatabase } from '../persistence/db.js';

/**
 * The inbox of one module database: which (consumer, message id) pairs have been settled (handled,
 * or dead-lettered after being decoded).
 * Recorded in the same transaction as the handler's writes, so a redelivery changes nothing.
 */
export interface Inbox {
  has(consumer: string, messageId: string): Promise<boolean>;
  /**
   * Records the pair unless it is there: true when this call recorded it, false for a message
   * already settled. Run it inside the handler's transaction, first: one statement both checks and
   * records, and on PostgreSQL a copy being handled concurrently waits on the record's key until
   * the first commits (then finds it), or takes over if that one rolls back.
   */
  claim(consumer: string, messageId: string): Promise<boolean>;
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
    has: async (consumer, messageId) => (await select.get(consumer, messageId)) !== undefined,
    claim: (consumer, messageId) => insert.get(consumer, messageId, Date.now()).then(isRecorded),
    forget: async (consumer, messageId) => {
      await remove.run(consumer, messageId);
    },
  };
}
