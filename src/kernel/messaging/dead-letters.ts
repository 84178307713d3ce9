import { randomUUID } from 'node:crypto';
import type { ModuleDatabase } from '../persistence/db.js';
import type { Envelope } from './envelope.js';

/** The dead-letter queue of a module's consumers, as the contract names it. */
export function deadLetterQueueName(module: string): string {
  return `dlq.${module}.retry`;
}

export interface DeadLetter {
  readonly id: string;
  readonly consumer: string;
  readonly queue: string;
  /** The envelope as received, or the raw text when it was not one. */
  readonly event: Envelope | string;
  readonly error: string;
  readonly attempts: number;
  readonly failedAt: string;
}

export interface DeadLetterFilter {
  readonly consumer?: string;
  readonly type?: string;
  /** The error text, whole (letters that failed the same way: a group of the dashboard). */
  readonly error?: string;
}

/** Dead letters that failed the same way: same consumer, same message type, same error. */
export interface DeadLetterGroup {
  readonly consumer: string;
  readonly queue: string;
  /** The message type; null for a message that was not an envelope (or had no type). */
  readonly type: string | null;
  readonly error: string;
  readonly count: number;
  readonly firstFailedAt: string;
  readonly lastFailedAt: string;
  /** The message of the group's latest letter (an envelope, or its raw text). */
  readonly sample: Envelope | string;
}

/** A dead letter's place in the list: `[failedAt (epoch ms), id]`. */
export type DeadLetterKey = [failedAt: number, id: string];

export function deadLetterKey(letter: DeadLetter): DeadLetterKey {
  return [Date.parse(letter.failedAt), letter.id];
}

interface DeadLetterRow {
  id: string;
  consumer: string;
  queue: string;
  payload: string;
  error: string;
  attempts: number;
  failed_at: number;
  replayed_at: number | null;
}

/** Dead letters kept in one module database. */
export interface DeadLetterStore {
  /** Must run inside the transaction that retires the delivery. */
  add(letter: {
    consumer: string;
    module: string;
    payload: string;
    error: string;
    attempts: number;
  }): Promise<void>;
  /** Up to `take` letters after `after` (`[failedAt ms, id]`), oldest first. */
  page(filter: DeadLetterFilter, after: DeadLetterKey | undefined, take: number): Promise<DeadLetter[]>;
  /** The newest `take` letters, newest first. */
  newest(take: number): Promise<DeadLetter[]>;
  get(id: string): Promise<(DeadLetter & { readonly payload: string }) | undefined>;
  /** The `take` groups (consumer, type, error) that failed last, latest first. */
  groups(take: number): Promise<DeadLetterGroup[]>;
  /** Deletes every letter the filter matches; how many. Must run inside a write transaction. */
  deleteMatching(filter: DeadLetterFilter): Promise<number>;
  /**
   * Marks the letter as being replayed. `first` is true only for the first claim: a replay that
   * was interrupted after its redelivery (a crash before the letter was deleted) leaves the
   * letter claimed, and the next replay must not clear the inbox mark that redelivery may have
   * left. Must run inside a write transaction.
   */
  claimForReplay(
    id: string,
  ): Promise<
    { readonly letter: DeadLetter & { readonly payload: string }; readonly first: boolean } | undefined
  >;
  delete(id: string): Promise<boolean>;
  count(consumer: string): Promise<number>;
}

export function createDeadLetterStore(database: ModuleDatabase): DeadLetterStore {
  const insert = database.statement(
    `INSERT INTO kernel_dead_letters (id, consumer, queue, message_id, type, payload, error, attempts, failed_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  // Keyset order (failed_at, id): index kernel_dead_letters_failed. The first page starts after
  // (-1, ''), before every letter, so that one statement serves every page.
  const selectPage = database.statement<
    [FilterParams & { afterAt: number; afterId: string; take: number }],
    DeadLetterRow
  >(
    `SELECT * FROM kernel_dead_letters
     WHERE ${MATCHES}
       AND (failed_at, id) > (@afterAt, @afterId)
     ORDER BY failed_at, id LIMIT @take`,
  );
  const selectNewest = database.statement<[number], DeadLetterRow>(
    'SELECT * FROM kernel_dead_letters ORDER BY failed_at DESC, id DESC LIMIT ?',
  );
  const selectOne = database.statement<[string], DeadLetterRow>(
    'SELECT * FROM kernel_dead_letters WHERE id = ?',
  );
  const remove = database.statement('DELETE FROM kernel_dead_letters WHERE id = ?');
  const removeMatching = database.statement<[FilterParams]>(
    `DELETE FROM kernel_dead_letters WHERE ${MATCHES}`,
  );
  const selectGroups = database.statement<[number], GroupRow>(
    `SELECT g.*,
            (SELECT payload FROM kernel_dead_letters d
             WHERE d.consumer = g.consumer AND d.type IS NOT DISTINCT FROM g.type AND d.error = g.error
             ORDER BY d.failed_at DESC LIMIT 1) AS sample
     FROM (SELECT consumer, MIN(queue) AS queue, type, error, COUNT(*) AS count,
                  MIN(failed_at) AS first_failed_at, MAX(failed_at) AS last_failed_at
           FROM kernel_dead_letters GROUP BY consumer, type, error
           ORDER BY last_failed_at DESC, consumer, type, error LIMIT ?) g
     ORDER BY g.last_failed_at DESC, g.consumer, g.type, g.error`,
  );
  const markReplayed = database.statement(
    'UPDATE kernel_dead_letters SET replayed_at = ? WHERE id = ? AND replayed_at IS NULL',
  );
  const countFor = database.statement<[string], number>(
    'SELECT COUNT(*) FROM kernel_dead_letters WHERE consumer = ?',
    { pluck: true },
  );
  return {
    add: async ({ consumer, module, payload, error, attempts }) => {
      const parsed = parseEnvelope(payload);
      await insert.run(
        randomUUID(),
        consumer,
        deadLetterQueueName(module),
        // only strings: a hostile payload ({"id": {...}}) must not make the insert throw
        typeof parsed === 'string' || typeof parsed.id !== 'string' ? null : parsed.id,
        typeof parsed === 'string' || typeof parsed.type !== 'string' ? null : parsed.type,
        payload,
        error,
        attempts,
        Date.now(),
      );
    },
    page: async (filter, after, take) =>
      (
        await selectPage.all({
          ...filterParams(filter),
          afterAt: after?.[0] ?? -1,
          afterId: after?.[1] ?? '',
          take,
        })
      ).map(toDeadLetter),
    newest: async (take) => (await selectNewest.all(take)).map(toDeadLetter),
    get: async (id) => {
      const row = await selectOne.get(id);
      return row ? { ...toDeadLetter(row), payload: row.payload } : undefined;
    },
    claimForReplay: async (id) => {
      const row = await selectOne.get(id);
      if (!row) return undefined;
      const first = (await markReplayed.run(Date.now(), id)) === 1;
      return { letter: { ...toDeadLetter(row), payload: row.payload }, first };
    },
    groups: async (take) =>
      (await selectGroups.all(take)).map((row) => ({
        consumer: row.consumer,
        queue: row.queue,
        type: row.type,
        error: row.error,
        count: Number(row.count),
        firstFailedAt: new Date(Number(row.first_failed_at)).toISOString(),
        lastFailedAt: new Date(Number(row.last_failed_at)).toISOString(),
        sample: parseEnvelope(row.sample),
      })),
    deleteMatching: async (filter) => removeMatching.run(filterParams(filter)),
    delete: async (id) => (await remove.run(id)) > 0,
    count: async (consumer) => (await countFor.get(consumer)) ?? 0,
  };
}

interface GroupRow {
  consumer: string;
  queue: string;
  type: string | null;
  error: string;
  count: number | bigint;
  first_failed_at: number | bigint;
  last_failed_at: number | bigint;
  sample: string;
}

interface FilterParams {
  consumer: string | null;
  type: string | null;
  error: string | null;
}

/** A filter's conditions; an absent field matches every letter. */
const MATCHES = `(CAST(@consumer AS TEXT) IS NULL OR consumer = @consumer)
       AND (CAST(@type AS TEXT) IS NULL OR type = @type)
       AND (CAST(@error AS TEXT) IS NULL OR error = @error)`;

const filterParams = (filter: DeadLetterFilter): FilterParams => ({
  consumer: filter.consumer ?? null,
  type: filter.type ?? null,
  error: filter.error ?? null,
});

function toDeadLetter(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    consumer: row.consumer,
    queue: row.queue,
    event: parseEnvelope(row.payload),
    error: row.error,
    attempts: row.attempts,
    failedAt: new Date(row.failed_at).toISOString(),
  };
}

function parseEnvelope(payload: string): Envelope | string {
  try {
    const value: unknown = JSON.parse(payload);
    return value !== null && typeof value === 'object' ? (value as Envelope) : payload;
  } catch {
    return payload;
  }
}
