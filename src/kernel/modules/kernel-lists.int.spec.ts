/**
 * The kernel's lists span the databases of every module of the process: a page of dead letters or
 * sagas is cut from all of them merged in one order, and following `next` gives each row once.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectPages } from '../http/pagination.js';
import { startTestKernel, type TestKernel } from '../testing/index.js';
import { defineModule } from './module.js';

let tk: TestKernel;

/** Rows of the two modules' databases, interleaved in time: alpha at even ms, beta at odd ones. */
const times = Array.from({ length: 7 }, (_, i) => 1_700_000_000_000 + i);
const moduleAt = (i: number) => (i % 2 === 0 ? 'alpha' : 'beta');

beforeAll(async () => {
  tk = await startTestKernel({
    modules: [defineModule({ name: 'alpha' }), defineModule({ name: 'beta' })],
  });
  for (const [i, at] of times.entries()) {
    await tk.context(moduleAt(i)).transact(({ db }) => {
      db.run(sql`INSERT INTO kernel_dead_letters (id, consumer, queue, payload, error, attempts, failed_at)
               VALUES (${`letter-${i}`}, ${`${moduleAt(i)}.things`}, ${`dlq.${moduleAt(i)}.retry`},
                       ${JSON.stringify({ id: `m${i}`, type: 'source.thing-happened' })}, 'broken', 3, ${at})`);
      db.run(sql`INSERT INTO kernel_sagas (name, id, status, step, state, steps, correlation_id, version,
                                         created_at, updated_at)
               VALUES ('trip', ${`saga-${i}`}, ${i === 3 ? 'failed' : 'completed'}, 'done', '{}', '[]',
                       'c', 1, ${at}, ${at + 100 - i * 10})`);
    });
  }
});
afterAll(() => tk.dispose());

describe('the kernel lists of a process with several modules', () => {
  it('pages the dead letters of every module, oldest first, each once', async () => {
    const first = await tk.kernel.listDeadLetters({ limit: 3 });
    expect(first.items.map((l) => l.id)).toEqual(['letter-0', 'letter-1', 'letter-2']);
    expect(first.items.map((l) => l.queue)).toEqual(['dlq.alpha.retry', 'dlq.beta.retry', 'dlq.alpha.retry']);
    const all = await collectPages(async (cursor) => await tk.kernel.listDeadLetters({ limit: 3, cursor }));
    expect(all.map((l) => l.id)).toEqual(times.map((_, i) => `letter-${i}`));
  });

  it('pages a filtered list of dead letters the same way', async () => {
    const betas = await collectPages(
      async (cursor) => await tk.kernel.listDeadLetters({ consumer: 'beta.things', limit: 2, cursor }),
    );
    expect(betas.map((l) => l.id)).toEqual(['letter-1', 'letter-3', 'letter-5']);
  });

  it('shows the dashboard the newest dead letters of every module, newest first', async () => {
    expect((await tk.kernel.newestDeadLetters(3)).map((l) => l.id)).toEqual([
      'letter-6',
      'letter-5',
      'letter-4',
    ]);
  });

  it('pages the sagas of every module, newest started first (not by their last update)', async () => {
    const all = await collectPages(async (cursor) => await tk.kernel.listSagas({ limit: 2, cursor }));
    expect(all.map((s) => s.id)).toEqual(times.map((_, i) => `saga-${i}`).reverse());
    expect(await tk.kernel.listSagas({ status: 'failed' })).toEqual({
      items: [
        expect.objectContaining({
          id: 'saga-3',
          status: 'failed',
          createdAt: new Date(times[3] ?? 0).toISOString(),
        }),
      ],
      next: null,
    });
  });
});
