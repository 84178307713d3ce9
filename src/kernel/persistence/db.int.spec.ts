import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DatabaseBusyError,
  openModuleDatabase,
  outsideTransactions,
  type SqliteModuleDatabase,
} from './db.js';
import { expectAfterCommit } from './testing/unit-of-work-cases.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('the async unit of work of a module database', () => {
  let dir: string;
  let database: SqliteModuleDatabase;
  const rows = () => database.reader.prepare('SELECT n FROM alpha_rows ORDER BY rowid').pluck().all();
  const insert = (n: number) => database.writer.prepare('INSERT INTO alpha_rows (n) VALUES (?)').run(n);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'unit-of-work-'));
    database = openModuleDatabase(dir, 'alpha', { lockWaitMs: 300 });
    await database.transaction(() => database.writer.exec('CREATE TABLE alpha_rows (n INTEGER NOT NULL)'));
  });
  afterEach(async () => {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs transactions that await one at a time, in call order, each whole', async () => {
    const order: string[] = [];
    const slow = database.transaction(async () => {
      order.push('a begins');
      insert(1);
      await tick();
      insert(2);
      order.push('a ends');
    });
    const fast = database.transaction(() => {
      order.push('b runs');
      insert(3);
    });
    await Promise.all([slow, fast]);
    expect(order).toEqual(['a begins', 'a ends', 'b runs']);
    expect(rows()).toEqual([1, 2, 3]);
  });

  it('shows readers committed rows only, never those of a transaction waiting at an await', async () => {
    let seenInside: unknown[] = [];
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const open = database.transaction(async () => {
      insert(1);
      await gate;
      seenInside = database.writer.prepare('SELECT n FROM alpha_rows').pluck().all();
    });
    await tick();
    expect(rows()).toEqual([]); // the reader, while the transaction waits
    release();
    await open;
    expect(seenInside).toEqual([1]);
    expect(rows()).toEqual([1]);
  });

  it('runs a kernel statement at the call: its result, not a promise; a failure throws and rolls back', async () => {
    const insertRow = database.statement<[number], number>(
      'INSERT INTO alpha_rows (n) VALUES (?) RETURNING n',
      {
        pluck: true,
      },
    );
    const count = database.statement<[], number>('SELECT COUNT(*) FROM alpha_rows', { pluck: true });
    const returned = await database.transaction(() => [insertRow.get(7), count.get()]);
    expect(returned).toEqual([7, 1]); // values, read in the same tick, the transaction's own row counted
    await expect(
      database.transaction(() => {
        expect(insertRow.get(8)).toBe(8); // inserted, then rolled back with the failure below
        return database.statement('INSERT INTO no_such_table VALUES (1)').run();
      }),
    ).rejects.toThrow(/no such table/);
    expect(count.get()).toBe(1); // outside a transaction, on the reader: the 8 was rolled back
  });

  it('rolls back a transaction that rejects, and a nested call is a savepoint of it', async () => {
    await expect(
      database.transaction(async () => {
        insert(1);
        await tick();
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    await database.transaction(async () => {
      insert(2);
      await expect(
        database.transaction(() => {
          insert(3);
          throw new Error('inner');
        }),
      ).rejects.toThrow('inner');
      await database.transaction(async () => insert(4));
    });
    expect(rows()).toEqual([2, 4]);
  });

  it('runs afterCommit work once the transaction has committed (the reader sees its rows), never after a rollback', async () => {
    await expectAfterCommit({ database, insert, committedRows: rows });
  });

  it('does not make work scheduled from inside a transaction a savepoint of it', async () => {
    let scheduled: Promise<void> | undefined;
    await database
      .transaction(async () => {
        insert(1);
        outsideTransactions(() => {
          scheduled = new Promise((resolve, reject) =>
            setTimeout(() => database.transaction(() => insert(2)).then(() => resolve(), reject), 0),
          );
        });
        await tick();
        await tick();
        throw new Error('rolled back'); // the scheduled one ran on its own, queued behind this one
      })
      .catch(() => undefined);
    await scheduled;
    expect(rows()).toEqual([2]);
  });

  it("waits for another process's write lock on timers, then fails with DatabaseBusyError", async () => {
    const other = new Database(database.file);
    other.exec('BEGIN IMMEDIATE');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    try {
      await expect(database.transaction(() => insert(1))).rejects.toBeInstanceOf(DatabaseBusyError);
      expect(ticks).toBeGreaterThan(5); // the event loop ran meanwhile
      const waiting = database.transaction(() => insert(2));
      setTimeout(() => other.exec('COMMIT'), 50);
      await waiting;
      expect(rows()).toEqual([2]);
    } finally {
      clearInterval(timer);
      other.close();
    }
  });
});
