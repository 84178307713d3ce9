/**
 * Soak: under a steady stream of messages the kernel tables of every module database stop
 * growing once their retention is reached (the pruner deletes as fast as they fill), while each
 * message is still handled exactly once. Retentions are shortened to fractions of a second.
 */
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageDraft } from '../messaging/envelope.js';
import { on } from '../messaging/subscription.js';
import {
  FAST_RETRY,
  type Thing,
  thing,
  thingHappened,
  thingSeen,
} from '../messaging/transports/testing/conformance/fixtures.js';
import { defineModule, type ModuleDefinition } from '../modules/module.js';
import { eventually, startTestKernel, type TestKernel } from '../testing/index.js';
import { sleep } from '../time.js';
import type { PrunerOptions } from './pruner.js';

const RETENTION: Partial<PrunerOptions> = {
  outboxRetentionMs: 500,
  inboxRetentionMs: 1000,
  intervalMs: 200,
  batchSize: 100,
  pauseMs: 1,
};
const STREAM_MS = 5000;
const MESSAGES_PER_TICK = 2;
const TICK_MS = 10; // up to 200 messages a second (140 to 200 measured: timers run late)
/** What a busy machine may add to a sweep's interval (timers late, batches waiting their turn). */
const SLACK_MS = 400;

/**
 * A module whose consumer records each message it handles in `<name>_effects`, in the transaction
 * that stages what `next` makes of it. No unique key: a message handled twice shows as two rows.
 */
function recording(
  name: string,
  handles: typeof thingHappened | typeof thingSeen,
  next?: (data: Thing) => MessageDraft,
): ModuleDefinition {
  return defineModule({
    name,
    messages: next ? [thingSeen] : [],
    start: (ctx) => {
      ctx.transact((tx) => tx.db.run(sql.raw(`CREATE TABLE ${name}_effects (message_id TEXT)`)));
    },
    subscriptions: [
      {
        consumer: `${name}.things`,
        handlers: [
          on([handles], async (message, ctx) => {
            await ctx.transact(async (tx) => {
              tx.db.run(
                sql`INSERT INTO ${sql.identifier(`${name}_effects`)} (message_id) VALUES (${message.id})`,
              );
              if (next) await tx.stage(next(message.data as Thing));
            });
          }),
        ],
      },
    ],
  });
}

/** source → alpha (records, publishes alpha.thing-seen) → beta (records): two hops, two outboxes. */
const modules = [
  defineModule({ name: 'source', messages: [thingHappened] }),
  recording('alpha', thingHappened, thingSeen),
  recording('beta', thingSeen),
];

interface Sample {
  readonly at: number;
  readonly sourceOutbox: number;
  readonly alphaOutbox: number;
  readonly alphaInbox: number;
  readonly betaInbox: number;
}

describe('retention under steady load', () => {
  let tk: TestKernel | undefined;
  afterEach(async () => tk?.dispose());

  it('keeps every inbox and outbox to what its retention holds, handling each message once', async () => {
    tk = await startTestKernel({ modules, retry: FAST_RETRY, pruner: RETENTION });
    const k = tk;
    const rows = (module: string, table: 'kernel_inbox' | 'kernel_outbox') =>
      k.context(module).db.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM ${sql.identifier(table)}`)?.n;
    const sample = (): Sample => ({
      at: Date.now(),
      sourceOutbox: rows('source', 'kernel_outbox'),
      alphaOutbox: rows('alpha', 'kernel_outbox'),
      alphaInbox: rows('alpha', 'kernel_inbox'),
      betaInbox: rows('beta', 'kernel_inbox'),
    });

    const stagedAt: number[] = [];
    const samples: Sample[] = [];
    const sampler = setInterval(() => samples.push(sample()), 100);
    const source = k.context('source');
    const until = Date.now() + STREAM_MS;
    for (let n = 0; Date.now() < until; ) {
      await source.transact(async (tx) => {
        for (let i = 0; i < MESSAGES_PER_TICK; i++, n++) await tx.stage(thing(`k${n % 8}`, n));
      });
      for (let i = 0; i < MESSAGES_PER_TICK; i++) stagedAt.push(Date.now());
      await sleep(TICK_MS);
    }
    clearInterval(sampler);
    const sent = stagedAt.length;

    /** Messages staged in the `windowMs` before `at`: the most a table may hold then. */
    const stagedWithin = (at: number, windowMs: number) =>
      stagedAt.filter((t) => t > at - windowMs && t <= at).length;
    const { outboxRetentionMs = 0, inboxRetentionMs = 0, intervalMs = 0 } = RETENTION;
    const outboxWindow = outboxRetentionMs + intervalMs + SLACK_MS;
    const inboxWindow = inboxRetentionMs + intervalMs + SLACK_MS;
    for (const s of samples) {
      expect(s.sourceOutbox, `source outbox at ${s.at}`).toBeLessThanOrEqual(
        stagedWithin(s.at, outboxWindow),
      );
      expect(s.alphaOutbox, `alpha outbox at ${s.at}`).toBeLessThanOrEqual(stagedWithin(s.at, outboxWindow));
      expect(s.alphaInbox, `alpha inbox at ${s.at}`).toBeLessThanOrEqual(stagedWithin(s.at, inboxWindow));
      expect(s.betaInbox, `beta inbox at ${s.at}`).toBeLessThanOrEqual(stagedWithin(s.at, inboxWindow));
    }
    // Flat, not merely slow: the last second holds no more than a window's worth, far below what was sent.
    const last = samples.filter((s) => s.at > until - 1000);
    expect(Math.max(...last.map((s) => s.alphaInbox))).toBeLessThan(sent / 2);

    // Every message handled exactly once on both hops, then the tables drain once traffic stops.
    const effects = (module: string, table: string) =>
      k
        .context(module)
        .db.get<{ all: number; distinct: number }>(
          sql`SELECT COUNT(*) AS "all", COUNT(DISTINCT message_id) AS "distinct" FROM ${sql.identifier(table)}`,
        );
    await eventually(async () => expect(effects('beta', 'beta_effects')?.all).toBe(sent), {
      timeoutMs: 10_000,
    });
    expect(effects('alpha', 'alpha_effects')).toEqual({ all: sent, distinct: sent });
    expect(effects('beta', 'beta_effects')).toEqual({ all: sent, distinct: sent });
    await eventually(
      () => expect(sample()).toMatchObject({ sourceOutbox: 0, alphaOutbox: 0, alphaInbox: 0, betaInbox: 0 }),
      { timeoutMs: 5000 },
    );
    // GET /admin/outbox counts what is kept: nothing published is left past its retention
    expect((await k.kernel.outboxStats()).map(({ pending, published }) => ({ pending, published }))).toEqual(
      Array(3).fill({ pending: 0, published: 0 }),
    );
  }, 20_000);
});
