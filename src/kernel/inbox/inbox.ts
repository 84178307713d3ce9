import type { ModuleDatabase } from '../persistence/db.js';

/**
 * The inbox of one module database: which (consumer, message id) pairs have been settled (handled,
 * or dead-lettered after being decoded).
 * Recorded in the same transaction as the handler's writes, so a redelivery changes nothing.
 */
export interface Inbox {
  has(consumer: string, messageId: string): Promise<boolean>;
  /** Must run inside the handler's transaction. */
  record(consumer: string, messageId: string): Promise<void>;
  /** Lets a dead-lettered message be handled again (replay); inside a transaction. */
  forget(consumer: string, messageId: string): Promise<void>;
}

export function createInbox(database: ModuleDatabase): Inbox {
  const select = database.statement('SELECT 1 FROM kernel_inbox WHERE consumer = ? AND message_id = ?', {
    pluck: true,
  });
  const insert = database.statement(
    'INSERT INTO kernel_inbox (consumer, message_id, handled_at) VALUES (?, ?, ?)',
  );
  const remove = database.statement('DELETE FROM kernel_inbox WHERE consumer = ? AND message_id = ?');
  return {
    has: async (consumer, messageId) => (await select.get(consumer, messageId)) !== undefined,
    record: async (consumer, messageId) => {
      await insert.run(consumer, messageId, Date.now());
    },
    forget: async (consumer, messageId) => {
      await remove.run(consumer, messageId);
    },
  };
}
