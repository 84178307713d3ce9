import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInbox } from '../inbox/inbox.js';
import { createLogger } from '../observability/logger.js';
import { KernelMetrics } from '../observability/metrics.js';
import { openModuleDatabase, type SqliteModuleDatabase } from './db.js';
import { migrateModuleDatabase } from './migrate.js';
import { Pruner, pruneBatch } from './pruner.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

let dataDir: string;
let database: SqliteModuleDatabase;

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'pruner-'));
  database = openModuleDatabase(dataDir, 'alpha');
  await migrateModuleDatabase(database);
});

afterEach(async () => {
  await database.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Records that `consumer` handled a new message `ageMs` ago; returns the message id. */
function handled(ageMs: number, consumer = 'alpha.things'): string {
  const id = randomUUID();
  database.writer
    .prepare('INSERT INTO kernel_inbox (consumer, message_id, handled_at) VALUES (?, ?, ?)')
    .run(consumer, id, Date.now() - ageMs);
  return id;
}

/** Stages an outbox row `ageMs` ago, published then when `published`; returns its seq. */
function staged(ageMs: number, published: boolean): number {
  const at = Date.now() - ageMs;
  const { lastInsertRowid } = database.writer
    .prepare(
      `INSERT INTO kernel_outbox (id, type, partition_key, envelope, created_at, published_at)
       VALUES (?, 'alpha.thing-seen', 'k', '{}', ?, ?)`,
    )
    .run(randomUUID(), at, published ? at : null);
  return Number(lastInsertRowid);
}

/** A saga instance whose last request is the outbox row `seq`; waiting while it has a deadline. */
function sagaAwaiting(seq: number | null, deadline: number | null): string {
  const id = randomUUID();
  database.writer
    .prepare(
      `INSERT INTO kernel_sagas (name, id, status, step, state, steps, correlation_id, last_sent_seq,
                                 deadline, version, created_at, updated_at)
       VALUES ('alpha.flow', ?, 'running', 'charging', '{}', '[]', 'c', ?, ?, 1, 0, 0)`,
    )
    .run(id, seq, deadline);
  return id;
}

const outboxSeqs = () =>
  database.writer.prepare<[], number>('SELECT seq FROM kernel_outbox ORDER BY seq').pluck().all();
const inboxCount = () =>
  database.writer.prepare<[], number>('SELECT COUNT(*) FROM kernel_inbox').pluck().get();

const pruner = (options: { batchSize?: number; pauseMs?: number } = {}, metrics = new KernelMetrics()) =>
  new Pruner(database, createLogger('silent'), metrics, {
    inboxRetentionMs: WEEK,
    outboxRetentionMs: HOUR,
    ...options,
  });

describe('pruner: the inbox keeps the duplicate-detection window', () => {
  it('forgets messages handled before the window and still recognises the ones handled within it', async () => {
    const inbox = createInbox(database);
    const eightDaysOld = handled(8 * DAY);
    const sixDaysOld = handled(6 * DAY);
    const justNow = handled(0);

    expect(await pruner().sweep()).toEqual({ kernel_inbox: 1, kernel_outbox: 0 });

    expect(await inbox.has('alpha.things', eightDaysOld)).toBe(false); // would be handled again
    expect(await inbox.has('alpha.things', sixDaysOld)).toBe(true); // a redelivery is still skipped
    expect(await inbox.has('alpha.things', justNow)).toBe(true);
  });

  it('treats every consumer of the database alike', async () => {
    handled(8 * DAY, 'alpha.things');
    handled(8 * DAY, 'alpha.other');
    const kept = handled(DAY, 'alpha.other');

    await pruner().sweep();

    expect(await createInbox(database).has('alpha.other', kept)).toBe(true);
    expect(inboxCount()).toBe(1);
  });
});

describe('pruner: the outbox keeps what is still needed', () => {
  it('deletes published rows older than the retention and keeps the younger ones', async () => {
    staged(2 * HOUR, true);
    const recent = staged(10 * 60_000, true);

    expect(await pruner().sweep()).toEqual({ kernel_inbox: 0, kernel_outbox: 1 });

    expect(outboxSeqs()).toEqual([recent]);
  });

  it('never deletes a pending row, however old: it is still to be published', async () => {
    const stuck = staged(30 * DAY, false);
    staged(2 * HOUR, true);

    await pruner().sweep();

    expect(outboxSeqs()).toEqual([stuck]);
  });

  it('keeps the request a waiting saga step counts its deadline from, until the step is over', async () => {
    const request = staged(3 * HOUR, true);
    const older = staged(4 * HOUR, true);
    const saga = sagaAwaiting(request, Date.now() + 60_000);
    sagaAwaiting(null, Date.now() + 60_000); // started, nothing sent yet: must not stop the pruning

    await pruner().sweep();
    expect(outboxSeqs()).toEqual([request]);
    expect(outboxSeqs()).not.toContain(older);

    database.writer.prepare('UPDATE kernel_sagas SET deadline = NULL WHERE id = ?').run(saga); // finished
    await pruner().sweep();
    expect(outboxSeqs()).toEqual([]);
  });
});

describe('pruner: batches stay small and the event loop keeps running', () => {
  it('deletes the oldest rows first, at most one batch per call', async () => {
    const oldest = Array.from({ length: 3 }, (_, i) => handled(30 * DAY - i));
    for (let i = 0; i < 7; i++) handled(10 * DAY);

    expect(await pruneBatch(database, 'kernel_inbox', Date.now() - WEEK, 3)).toBe(3);

    const inbox = createInbox(database);
    const stillThere = await Promise.all(oldest.map((id) => inbox.has('alpha.things', id)));
    expect(stillThere).toEqual([false, false, false]);
    expect(inboxCount()).toBe(7);
  });

  it('works through a backlog in short transactions, letting other work run between them', async () => {
    for (let i = 0; i < 1200; i++) handled(8 * DAY);
    for (let i = 0; i < 1200; i++) staged(2 * HOUR, true);
    const rowsPerTransaction: number[] = [];
    const changes = database.writer.prepare<[], number>('SELECT total_changes()').pluck();
    const observed: SqliteModuleDatabase = {
      ...database,
      transaction: async (fn) => {
        const before = changes.get() ?? 0;
        const result = await database.transaction(fn);
        rowsPerTransaction.push((changes.get() ?? 0) - before);
        return result;
      },
    };
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 0);
    const metrics = new KernelMetrics();

    const swept = await new Pruner(observed, createLogger('silent'), metrics, {
      inboxRetentionMs: WEEK,
      outboxRetentionMs: HOUR,
      batchSize: 500,
      pauseMs: 2,
    }).sweep();
    clearInterval(ticker);

    expect(swept).toEqual({ kernel_inbox: 1200, kernel_outbox: 1200 });
    expect(Math.max(...rowsPerTransaction)).toBeLessThanOrEqual(500);
    expect(rowsPerTransaction.reduce((a, b) => a + b, 0)).toBe(2400);
    expect(ticks).toBeGreaterThan(0); // a timer ran between the batches
    const pruned = await metrics.registry.getSingleMetricAsString('kernel_rows_pruned_total');
    expect(pruned).toContain('kernel_rows_pruned_total{module="alpha",table="kernel_inbox"} 1200');
    expect(pruned).toContain('kernel_rows_pruned_total{module="alpha",table="kernel_outbox"} 1200');
  });
});

describe('pruner: on its own timer', () => {
  it('prunes every interval once started, and not after stop', async () => {
    const timed = new Pruner(database, createLogger('silent'), new KernelMetrics(), {
      inboxRetentionMs: WEEK,
      outboxRetentionMs: HOUR,
      intervalMs: 20,
    });
    timed.start();
    handled(8 * DAY);
    await expect.poll(inboxCount, { timeout: 2000, interval: 10 }).toBe(0);

    await timed.stop();
    handled(8 * DAY);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(inboxCount()).toBe(1);
  });
});
