import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModuleContext } from '../../kernel/index.js';
import { startTestKernel, type TestKernel } from '../../kernel/testing/index.js';
import { type AccountEvent, emptyAccount, replay } from './account.js';
import { append, ConcurrencyConflictError, keepAccount, loadAccount, readStream } from './event-store.js';
import { paymentsModule } from './index.js';
import { findOrderPayment } from './order-payments.js';

/** The messages of the error fn throws and its causes (drizzle wraps the SQLite error). */
async function failure(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (error) {
    const messages: string[] = [];
    for (let e: unknown = error; e instanceof Error; e = e.cause) messages.push(e.message);
    return messages.join(' <- ');
  }
  return 'no error';
}

const deposit = (amountCents: number): AccountEvent => ({ type: 'FundsDeposited', data: { amountCents } });

describe('the payments event store', () => {
  let tk: TestKernel;
  let ctx: ModuleContext;
  beforeAll(async () => {
    tk = await startTestKernel({ modules: [paymentsModule] });
    ctx = tk.context('payments');
  });
  afterAll(() => tk.dispose());

  it('appends with the expected version and replays the stream', async () => {
    await ctx.transact((tx) => append(tx.db, emptyAccount('a'), [deposit(10), deposit(5)], 1000));
    expect(await loadAccount(ctx.db, 'a')).toMatchObject({ balanceCents: 15, version: 2 });
    expect((await readStream(ctx.db, 'a')).map((e) => [e.version, e.type, e.occurredAt])).toEqual([
      [1, 'FundsDeposited', 1000],
      [2, 'FundsDeposited', 1000],
    ]);
  });

  it("records each order's payment next to the stream, in the append's transaction", async () => {
    const charged = (orderId: string, amountCents: number): AccountEvent => ({
      type: 'PaymentCharged',
      data: { orderId, amountCents },
    });
    await ctx.transact((tx) =>
      append(tx.db, emptyAccount('p'), [deposit(100), charged('o1', 30), charged('o2', 20)]),
    );
    await ctx.transact(async (tx) =>
      append(tx.db, await loadAccount(tx.db, 'p'), [
        { type: 'PaymentRefunded', data: { orderId: 'o1', amountCents: 30 } },
      ]),
    );
    expect(await findOrderPayment(ctx.db, 'p', 'o1')).toEqual({
      status: 'refunded',
      amountCents: 30,
      balanceCents: 80,
    });
    expect(await findOrderPayment(ctx.db, 'p', 'o2')).toEqual({
      status: 'charged',
      amountCents: 20,
      balanceCents: 50,
    });
    expect(await findOrderPayment(ctx.db, 'p', 'o3')).toBeUndefined();
    expect(await findOrderPayment(ctx.db, 'other', 'o1')).toBeUndefined();
    await expect(
      ctx.transact(async (tx) => {
        await append(tx.db, await loadAccount(tx.db, 'p'), [charged('o3', 1)]);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await findOrderPayment(ctx.db, 'p', 'o3')).toBeUndefined();
  });

  it('refuses an append on a stale version, writing nothing', async () => {
    const stale = await loadAccount(ctx.db, 'b');
    await ctx.transact((tx) => append(tx.db, stale, [deposit(1)]));
    await expect(ctx.transact((tx) => append(tx.db, stale, [deposit(2)]))).rejects.toThrow(
      ConcurrencyConflictError,
    );
    expect(await loadAccount(ctx.db, 'b')).toMatchObject({ balanceCents: 1, version: 1 });
  });

  it('loads a kept account while the head is at its version, and catches up with appends made elsewhere', async () => {
    const first = await ctx.transact(
      async (tx) => (await append(tx.db, await loadAccount(tx.db, 'kept'), [deposit(10)])).account,
    );
    keepAccount(ctx.db, first);
    expect(await loadAccount(ctx.db, 'kept')).toBe(first); // the very state kept: no replay
    // another process (or a writer that does not keep) appends: the head moves past the kept state
    await ctx.transact((tx) => append(tx.db, first, [deposit(5), deposit(1)]));
    expect(await loadAccount(ctx.db, 'kept')).toMatchObject({ balanceCents: 16, version: 3 });
    // a rolled-back append is never kept, and the kept state is not mistaken for the head
    await expect(
      ctx.transact(async (tx) => {
        await append(tx.db, await loadAccount(tx.db, 'kept'), [deposit(1000)]);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await loadAccount(ctx.db, 'kept')).toMatchObject({ balanceCents: 16, version: 3 });
    expect(await loadAccount(ctx.db, 'kept', Date.now() + 1000)).toMatchObject({
      balanceCents: 16,
      version: 3,
    });
  });

  it('turns a duplicate version from a writer that skipped the check into a conflict (primary key)', async () => {
    await ctx.transact((tx) => append(tx.db, emptyAccount('c'), [deposit(1)]));
    await expect(
      ctx.transact(async (tx) => {
        tx.db.run(
          sql`INSERT INTO payments_events (account_id, version, type, data, occurred_at)
              VALUES ('c', 2, 'FundsDeposited', '{"amountCents":1}', 0)`,
        );
        await append(tx.db, { ...emptyAccount('c'), version: 1 }, [deposit(7)]);
      }),
    ).rejects.toThrow(ConcurrencyConflictError);
    expect(await loadAccount(ctx.db, 'c')).toMatchObject({ balanceCents: 1, version: 1 });
  });

  it('keeps the stream append-only and its times non-decreasing', async () => {
    await ctx.transact((tx) => append(tx.db, emptyAccount('d'), [deposit(1)], 5000));
    await ctx.transact(async (tx) => append(tx.db, await loadAccount(tx.db, 'd'), [deposit(1)], 4000)); // clock went back
    expect((await readStream(ctx.db, 'd')).map((e) => e.occurredAt)).toEqual([5000, 5000]);
    expect(
      await failure(() =>
        ctx.transact((tx) => tx.db.run(sql`UPDATE payments_events SET data = '{"amountCents":1000}'`)),
      ),
    ).toMatch(/append-only/);
    expect(await failure(() => ctx.transact((tx) => tx.db.run(sql`DELETE FROM payments_events`)))).toMatch(
      /append-only/,
    );
    expect(await loadAccount(ctx.db, 'd')).toMatchObject({ balanceCents: 2, version: 2 });
  });

  it('loads from a snapshot every 100 events, also "as of" a time, to the same state as a full replay', async () => {
    let account = await loadAccount(ctx.db, 's');
    for (let i = 1; i <= 250; i++) {
      const event: AccountEvent =
        i % 3 === 0 ? { type: 'PaymentCharged', data: { orderId: `o${i}`, amountCents: 1 } } : deposit(2);
      account = await ctx.transact(
        async (tx) => (await append(tx.db, await loadAccount(tx.db, 's'), [event], i * 10)).account,
      );
    }
    const full = replay('s', await readStream(ctx.db, 's'));
    expect(account).toEqual(full);
    expect(await loadAccount(ctx.db, 's')).toEqual(full);
    expect(
      ctx.db.get(sql`SELECT version, occurred_at AS t FROM payments_snapshots WHERE account_id = 's'`),
    ).toEqual({
      version: 200,
      t: 2000,
    });
    for (const until of [0, 5, 10, 995, 1999, 2000, 2001, 2500, 9999]) {
      expect(await loadAccount(ctx.db, 's', until), `as of ${until}`).toEqual(
        replay('s', await readStream(ctx.db, 's', { until })),
      );
    }
  });

  it('replays a long stream with many orders in bounded time (snapshots)', async () => {
    // 5,000 deposits and 5,000 charges of distinct orders, appended as one batch
    const events = Array.from(
      { length: 10_000 },
      (_, i): AccountEvent =>
        i % 2 === 0 ? deposit(2) : { type: 'PaymentCharged', data: { orderId: `o${i}`, amountCents: 1 } },
    );
    await ctx.transact((tx) => append(tx.db, emptyAccount('long'), events));
    let started = performance.now();
    const full = replay('long', await readStream(ctx.db, 'long'));
    const replayMs = performance.now() - started;
    started = performance.now();
    const account = await loadAccount(ctx.db, 'long');
    const loadMs = performance.now() - started;
    expect(account).toEqual(full);
    expect(account).toMatchObject({ balanceCents: 5_000, version: 10_000 });
    console.info(
      `10,000 events: full replay ${replayMs.toFixed(1)} ms, load from snapshot ${loadMs.toFixed(1)} ms`,
    );
  });
});
