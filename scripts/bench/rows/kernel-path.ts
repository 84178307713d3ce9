/**
 * The kernel's whole message path, on any transport: a command transaction (a business row and
 * the staged event) → outbox relay → transport → consumer (inbox check, then the handler's
 * transaction: inbox record + its own row). Two fixture modules in a test kernel (no HTTP), their
 * databases in SQLite files, or in PostgreSQL when a DATABASE_URL is given.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { Type } from 'typebox';
import {
  defineEvent,
  defineModule,
  type Logger,
  type ModuleDefinition,
  on,
  type Transport,
} from '../../../src/kernel/index.js';
import type { Db } from '../../../src/kernel/persistence/db.js';
import { isPostgresHandle } from '../../../src/kernel/persistence/postgres.js';
import { startTestKernel } from '../../../src/kernel/testing/index.js';
import { BENCH_TYPE, keyOf } from '../lib/messages.js';
import { measurePath, type PathFigures, type PathPlan, Tracker } from '../lib/path.js';

const itemAdded = defineEvent({
  type: BENCH_TYPE,
  schema: Type.Object({ n: Type.Integer(), key: Type.String() }),
  partitionKey: (d) => d.key,
});

/** Consumer concurrency of the sink (the app's modules use 4 to 8). */
export const SINK_CONCURRENCY = 8;

/**
 * Runs a statement on the module's handle: better-sqlite3's synchronous `run` on SQLite (no promise,
 * as before PostgreSQL), drizzle's node-postgres `execute` on PostgreSQL (in the open transaction:
 * the handle routes it).
 */
const exec = (db: Db, query: SQL): undefined | Promise<void> =>
  isPostgresHandle(db)
    ? (db as unknown as NodePgDatabase).execute(query).then(() => undefined)
    : void db.run(query);

function fixtureModules(onHandled: (n: number) => void): ModuleDefinition[] {
  return [
    defineModule({
      name: 'benchsrc',
      messages: [itemAdded],
      start: (ctx) =>
        ctx.transact((tx) =>
          exec(tx.db, sql.raw('CREATE TABLE IF NOT EXISTS benchsrc_items (n INTEGER PRIMARY KEY, key TEXT)')),
        ),
    }),
    defineModule({
      name: 'benchsink',
      // `at` is epoch ms: BIGINT (SQLite reads it as INTEGER, the same column as before).
      start: (ctx) =>
        ctx.transact((tx) =>
          exec(
            tx.db,
            sql.raw('CREATE TABLE IF NOT EXISTS benchsink_items (n INTEGER PRIMARY KEY, at BIGINT)'),
          ),
        ),
      subscriptions: [
        {
          consumer: 'benchsink.items',

          concurrency: SINK_CONCURRENCY,
          handlers: [
            on([itemAdded], async (message, ctx) => {
              const { n } = message.data as { n: number };
              await ctx.transact((tx) =>
                exec(tx.db, sql`INSERT INTO benchsink_items (n, at) VALUES (${n}, ${Date.now()})`),
              );
              onHandled(n);
            }),
          ],
        },
      ],
    }),
  ];
}

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs the plan on a fresh test kernel over `transport`. The producer commits one transaction per
 * message and yields to the event loop after each (as an HTTP handler committing one request would).
 * With `databaseUrl`, both modules keep their databases there (DATABASE_URL, a schema each).
 */
export async function measureKernelPath(
  transport: (log: Logger) => Transport,
  plan: PathPlan,
  databaseUrl?: string,
): Promise<PathFigures> {
  const tracker = new Tracker();
  const kernel = await startTestKernel({
    modules: fixtureModules(tracker.handled),
    transport,
    ...(databaseUrl ? { env: { DATABASE_URL: databaseUrl } } : {}),
  });
  try {
    const source = kernel.context('benchsrc');
    const publish = async (numbers: readonly number[]) => {
      for (const n of numbers) {
        const key = keyOf(n);
        await source.transact(async (tx) => {
          // no await on SQLite: its statement ran already (the SQLite row as before PostgreSQL)
          const inserted = exec(tx.db, sql`INSERT INTO benchsrc_items (n, key) VALUES (${n}, ${key})`);
          if (inserted) await inserted;
          await tx.stage(itemAdded({ n, key }));
        });
        await nextTick();
      }
    };
    return await measurePath(tracker, publish, plan);
  } finally {
    await kernel.dispose();
  }
}
