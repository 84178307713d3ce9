import type { MessageDraft } from '../messaging/envelope.js';
import type { ModuleDatabase } from '../persistence/db.js';
import type { Compensation, SagaInstance, SagaStatus } from './saga.js';

interface SagaRow {
  name: string;
  created_at: number;
  id: string;
  status: SagaStatus;
  step: string;
  state: string;
  steps: string;
  reason: string | null;
  correlation_id: string;
  last_sent_id: string | null;
  last_sent_seq: number | null;
  deadline: number | null;
  version: number;
  updated_at: number;
}

export interface SagaListing {
  readonly id: string;
  readonly name: string;
  readonly status: SagaStatus;
  readonly step: string;
  readonly state: unknown;
  readonly deadline: string | null;
  /** The correlation id of the request that started it (and of every message of its flow). */
  readonly correlationId: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A saga instance's place in the list, newest started first: `[createdAt (epoch ms), name, id]`. */
export type SagaKey = [createdAt: number, name: string, id: string];

export function sagaKey(saga: SagaListing): SagaKey {
  return [Date.parse(saga.createdAt), saga.name, saga.id];
}

/** Saga instances of one module database, with optimistic concurrency on `version`. */
export interface SagaStore {
  load(name: string, id: string): Promise<SagaInstance<unknown> | undefined>;
  /** Inserts (version 1) or updates from version - 1; throws when another writer got there first. */
  save(instance: SagaInstance<unknown>): Promise<void>;
  due(now: number): Promise<SagaInstance<unknown>[]>;
  nextDeadline(): Promise<number | undefined>;
  /** Moves an instance's deadline (its version unchanged: the step it waits on is the same). */
  postpone(name: string, id: string, deadline: number): Promise<void>;
  /**
   * Moves by `until - since` every deadline not yet due at `since` of an instance last updated
   * before `seenAt` (a bus outage, bus-outages.ts; an instance armed later sent its request while
   * the bus was down, and that request's publication counts instead). Idempotent across the
   * processes sharing this database: a moved row is marked updated at `now`, after the outage was
   * seen, so a second process reporting the same outage skips it. Returns how many moved.
   */
  shiftDeadlines(outage: { since: number; seenAt: number; until: number }, now: number): Promise<number>;
  /** Up to `take` instances after `after`, newest started first. */
  page(status: string | undefined, after: SagaKey | undefined, take: number): Promise<SagaListing[]>;
  countByStatus(): Promise<Record<string, number>>;
}

export function createSagaStore(database: ModuleDatabase): SagaStore {
  const selectOne = database.statement<[string, string], SagaRow>(
    'SELECT * FROM kernel_sagas WHERE name = ? AND id = ?',
  );
  const insert = database.statement(
    `INSERT INTO kernel_sagas (name, id, status, step, state, steps, reason, correlation_id, last_sent_id,
                               last_sent_seq, deadline, version, created_at, updated_at)
     VALUES (@name, @id, @status, @step, @state, @steps, @reason, @correlationId, @lastSentId, @lastSentSeq,
             @deadline, @version, @now, @now)`,
  );
  const update = database.statement(
    `UPDATE kernel_sagas SET status = @status, step = @step, state = @state, steps = @steps, reason = @reason,
            last_sent_id = @lastSentId, last_sent_seq = @lastSentSeq, deadline = @deadline, version = @version,
            updated_at = @now
     WHERE name = @name AND id = @id AND version = @version - 1`,
  );
  const selectDue = database.statement<[number], SagaRow>(
    'SELECT * FROM kernel_sagas WHERE deadline IS NOT NULL AND deadline <= ? ORDER BY deadline LIMIT 100',
  );
  const updateDeadline = database.statement<[number, string, string]>(
    'UPDATE kernel_sagas SET deadline = ? WHERE name = ? AND id = ? AND deadline IS NOT NULL',
  );
  const shift = database.statement<{ since: number; seenAt: number; until: number; now: number }>(
    `UPDATE kernel_sagas SET deadline = deadline + (CAST(@until AS BIGINT) - CAST(@since AS BIGINT)), updated_at = @now
     WHERE deadline IS NOT NULL AND deadline > @since AND updated_at < @seenAt`,
  );
  const selectNext = database.statement<[], number | null>(
    'SELECT MIN(deadline) FROM kernel_sagas WHERE deadline IS NOT NULL',
    { pluck: true },
  );
  // Keyset order (created_at, name, id) descending: index kernel_sagas_created (the order in which
  // instances start never changes, unlike updated_at). The first page starts before (max, '', '').
  const selectPage = database.statement<
    [{ status: string | null; at: number; name: string; id: string; take: number }],
    SagaRow
  >(
    `SELECT * FROM kernel_sagas
     WHERE (CAST(@status AS TEXT) IS NULL OR status = @status) AND (created_at, name, id) < (@at, @name, @id)
     ORDER BY created_at DESC, name DESC, id DESC LIMIT @take`,
  );
  const selectCounts = database.statement<[], { status: string; n: number }>(
    'SELECT status, COUNT(*) AS n FROM kernel_sagas GROUP BY status',
  );
  return {
    countByStatus: async () =>
      Object.fromEntries((await selectCounts.all()).map((row) => [row.status, row.n])),
    load: async (name, id) => {
      const row = await selectOne.get(name, id);
      return row ? toInstance(row) : undefined;
    },
    save: async (instance) => {
      const params = {
        ...instance,
        state: JSON.stringify(instance.state),
        steps: JSON.stringify({ steps: instance.steps, awaiting: instance.awaiting } satisfies Progress),
        now: Date.now(),
      };
      if (instance.version === 1) await insert.run(params);
      else if ((await update.run(params)) !== 1) {
        throw new Error(`saga ${instance.name}/${instance.id} was changed concurrently`);
      }
    },
    due: async (now) => (await selectDue.all(now)).map(toInstance),
    postpone: async (name, id, deadline) => {
      await updateDeadline.run(deadline, name, id);
    },
    shiftDeadlines: async ({ since, seenAt, until }, now) => shift.run({ since, seenAt, until, now }),
    nextDeadline: async () => (await selectNext.get()) ?? undefined,
    page: async (status, after, take) =>
      (
        await selectPage.all({
          status: status ?? null,
          at: after?.[0] ?? Number.MAX_SAFE_INTEGER,
          name: after?.[1] ?? '',
          id: after?.[2] ?? '',
          take,
        })
      ).map((row) => ({
        id: row.id,
        name: row.name,
        status: row.status,
        step: row.step,
        state: JSON.parse(row.state) as unknown,
        deadline: row.deadline === null ? null : new Date(row.deadline).toISOString(),
        correlationId: row.correlation_id,
        createdAt: new Date(row.created_at).toISOString(),
        updatedAt: new Date(row.updated_at).toISOString(),
      })),
  };
}

/**
 * What the `steps` column holds: the steps started (with their compensations) and the replies
 * awaited while compensating, in one JSON value so that `awaiting` needs no column of its own.
 */
interface Progress {
  readonly steps: SagaInstance<unknown>['steps'];
  readonly awaiting: SagaInstance<unknown>['awaiting'];
}

/**
 * Rows written before `awaiting` existed hold the steps array alone, and each compensation as the
 * bare message: such a compensation awaits no named reply (it is sent, not waited for), so an
 * instance in flight across the upgrade still compensates and finishes.
 */
function progressOf(json: string): Progress {
  const value = JSON.parse(json) as Progress | readonly LegacyStep[];
  if ('awaiting' in value) return value;
  const steps = value.map(({ step, compensation }) => ({
    step,
    compensation: compensation.map((c) => ('message' in c ? c : { message: c, awaitsReply: null })),
  }));
  return { steps, awaiting: [] };
}

/** A step as stored before compensations named their reply (or after: both shapes may meet). */
interface LegacyStep {
  readonly step: string;
  readonly compensation: readonly (Compensation | MessageDraft)[];
}

function toInstance(row: SagaRow): SagaInstance<unknown> {
  return {
    name: row.name,
    id: row.id,
    status: row.status,
    step: row.step,
    state: JSON.parse(row.state) as unknown,
    ...progressOf(row.steps),
    reason: row.reason,
    correlationId: row.correlation_id,
    lastSentId: row.last_sent_id,
    lastSentSeq: row.last_sent_seq,
    deadline: row.deadline,
    version: row.version,
  };
}
