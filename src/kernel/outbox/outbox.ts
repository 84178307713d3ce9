import type { CausalContext } from '../messaging/context.js';
import { createEnvelope, type Envelope, type MessageDraft } from '../messaging/envelope.js';
import type { MessageTypes } from '../messaging/message-types.js';
import { type Awaitable, andThen } from '../persistence/awaitable.js';
import type { Db, ModuleDatabase } from '../persistence/db.js';

/** A write transaction of a module: its drizzle handle, and the outbox to stage messages in. */
export interface Tx {
  readonly db: Db;
  /**
   * Adds messages to the outbox in this transaction: they are published if and only if it commits.
   * An invalid message is a programming error and rejects (rolling the transaction back when
   * awaited in it, as it must be). Resolves with their envelopes as they will be published.
   */
  stage(...messages: MessageDraft[]): Promise<readonly Envelope[]>;
}

export interface Outbox {
  /** A Tx bound to the open transaction of this database; messages get `causal` as their context. */
  bind(causal: CausalContext): Tx;
  /** The outbox row (`seq`) of an envelope staged through this outbox, in this process. */
  seqOf(envelope: Envelope): number | undefined;
  /**
   * What became of the row `seq`: when the relay published it (null while pending) and its
   * partition key; undefined once it is gone. Published rows are pruned after
   * OUTBOX_RETENTION_MINUTES, except the one a waiting saga step counts from (the instance's
   * `last_sent_seq` while it has a deadline), so the coordinator finds the row of every step it
   * may time out (persistence/pruner.ts).
   */
  publication(
    seq: number,
  ): Promise<{ readonly publishedAt: number | null; readonly partitionKey: string } | undefined>;
}

export interface OutboxHooks {
  /** Fires once the transaction of a stage call has committed (the relay's rows are visible then). */
  readonly onStaged: () => void;
  /** Runs in the staging transaction for each message, with its envelope (the module's own hook). */
  readonly onMessageStaged?: ((tx: Tx, message: Envelope) => void | Promise<void>) | undefined;
}

/** The transactional outbox of one module. */
export function createOutbox(
  database: ModuleDatabase,
  messageTypes: MessageTypes,
  { onStaged, onMessageStaged }: OutboxHooks,
): Outbox {
  const { writerDb, module } = database;
  const insert = database.statement<[string, string, string, string, number], number>(
    'INSERT INTO kernel_outbox (id, type, partition_key, envelope, created_at) VALUES (?, ?, ?, ?, ?) RETURNING seq',
    { pluck: true },
  );
  const selectPublication = database.statement<
    [number],
    { published_at: number | null; partition_key: string }
  >('SELECT published_at, partition_key FROM kernel_outbox WHERE seq = ?');
  const seqs = new WeakMap<Envelope, number>();
  const stageOne = (draft: MessageDraft, causal: CausalContext): Awaitable<Envelope> => {
    messageTypes.assertValidDraft(draft);
    const definition = messageTypes.get(draft.type);
    if (definition?.kind === 'event' && definition.owner !== module) {
      throw new Error(`module ${module} cannot publish ${draft.type}: events are published by their owner`);
    }
    const envelope = createEnvelope(draft, module, causal);
    const inserted = insert.get(
      envelope.id,
      envelope.type,
      envelope.partitionkey,
      JSON.stringify(envelope),
      Date.now(),
    );
    return andThen(inserted, (seq) => {
      if (seq !== undefined) seqs.set(envelope, seq);
      return envelope;
    });
  };
  return {
    seqOf: (envelope) => seqs.get(envelope),
    publication: async (seq) => {
      const row = await selectPublication.get(seq);
      return row && { publishedAt: row.published_at, partitionKey: row.partition_key };
    },
    bind: (causal) => {
      const tx: Tx = {
        db: writerDb,
        stage: (...messages) => {
          try {
            if (!database.inTransaction())
              throw new Error('stage() must be called inside a transaction (ctx.transact)');
            const envelopes: Envelope[] = [];
            // One message after the other, each after its hook: a loop that stays synchronous while
            // the statements are (SQLite), with no promise per message (persistence/awaitable.ts).
            const stageFrom = (index: number): Awaitable<readonly Envelope[]> => {
              const draft = messages[index];
              if (draft === undefined) {
                database.afterCommit(onStaged);
                return envelopes;
              }
              return andThen(stageOne(draft, causal), (envelope) => {
                envelopes.push(envelope);
                return andThen(onMessageStaged?.(tx, envelope), () => stageFrom(index + 1));
              });
            };
            return Promise.resolve(stageFrom(0));
          } catch (error) {
            return Promise.reject(error);
          }
        },
      };
      return tx;
    },
  };
}
