import { expect } from 'vitest';
import type { ModuleDatabase } from '../db.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

/** What a case of the unit of work needs of a backend's spec: its database and a table of numbers. */
export interface UnitOfWorkFixture {
  readonly database: ModuleDatabase;
  /** Inserts `n` on the calling code's connection (the transaction's, inside one). */
  insert(n: number): unknown;
  /** The numbers committed, read on another connection (never the open transaction's). */
  committedRows(): Promise<unknown[]> | unknown[];
}

/**
 * `afterCommit` on either backend: queued work runs once the transaction has committed (another
 * connection then sees its rows), never after a rollback, and at once outside a transaction.
 */
export async function expectAfterCommit({
  database,
  insert,
  committedRows,
}: UnitOfWorkFixture): Promise<void> {
  let seen: Promise<unknown[]> | unknown[] | undefined;
  await database.transaction(async () => {
    await insert(1);
    database.afterCommit(() => {
      seen = committedRows();
    });
    await tick();
    expect(seen).toBeUndefined();
  });
  expect((await seen)?.map(Number)).toEqual([1]);

  let ranAfterRollback = false;
  await expect(
    database.transaction(async () => {
      await insert(2);
      database.afterCommit(() => {
        ranAfterRollback = true;
      });
      throw new Error('no');
    }),
  ).rejects.toThrow('no');
  expect(ranAfterRollback).toBe(false);

  let ranOutside = false;
  database.afterCommit(() => {
    ranOutside = true;
  });
  expect(ranOutside).toBe(true);
}
