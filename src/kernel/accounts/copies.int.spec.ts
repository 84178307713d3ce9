/**
 * A module database's copy of the account versions, as two processes sharing the database (two
 * instances of a module) see it: one writes, the other reads it into its own directory; versions
 * only grow; a change is read only once committed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ModuleDatabase } from '../persistence/db.js';
import { openMigratedDatabase } from '../persistence/migrate.js';
import { AccountCopy } from './copies.js';
import { AccountDirectory, type AccountState } from './directory.js';

const state = (userId: string, tokenVersion: number, extra: Partial<AccountState> = {}): AccountState => ({
  userId,
  role: 'user',
  tokenVersion,
  deleted: false,
  ...extra,
});

describe('a copy of the account versions shared by two instances', () => {
  let dir: string;
  let here: ModuleDatabase;
  let there: ModuleDatabase;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'account-copies-'));
    here = await openMigratedDatabase(dir, 'alpha');
    there = await openMigratedDatabase(dir, 'alpha'); // another process on the same file
  });
  afterEach(async () => {
    await here.close();
    await there.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets the other instance read each change once, in order, and keeps only the newest version', async () => {
    const writer = new AccountCopy(here);
    const reader = new AccountCopy(there);
    const directory = new AccountDirectory();
    await here.transaction(async () => {
      await writer.record(state('ann', 1));
      await writer.record(state('bob', 1, { role: 'admin' }));
    });
    await reader.readInto(directory);
    expect(directory.get('bob')).toEqual(state('bob', 1, { role: 'admin' }));

    await here.transaction(async () => {
      await writer.record(state('ann', 3, { deleted: true }));
      await writer.record(state('bob', 1, { role: 'user' })); // a repeat of a version it has: ignored
      await writer.record(state('ann', 2)); // late: older than what the copy has
    });
    await reader.readInto(directory);
    expect(directory.get('ann')).toEqual(state('ann', 3, { deleted: true }));
    expect(directory.get('bob')).toEqual(state('bob', 1, { role: 'admin' }));
    expect(directory.standing('ann', 3)).toBe('deleted');

    const fresh = new AccountDirectory(); // a process starting now reads the whole copy
    await new AccountCopy(there).readInto(fresh);
    expect([fresh.get('ann'), fresh.get('bob')]).toEqual([directory.get('ann'), directory.get('bob')]);
  });

  it('never reads a change before it commits, also from inside the writing transaction', async () => {
    const copy = new AccountCopy(here);
    const directory = new AccountDirectory();
    await expect(
      here.transaction(async () => {
        await copy.record(state('carl', 1));
        await copy.readInto(directory); // inside the transaction: still reads committed rows only
        expect(directory.get('carl')).toBeUndefined();
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await copy.readInto(directory);
    expect(directory.get('carl')).toBeUndefined();
  });
});

describe('the account directory', () => {
  it('takes a token at or above the known version, refuses an older one or a deleted account, and takes an unknown account on its claims', () => {
    const directory = new AccountDirectory();
    expect(directory.standing('nobody', 0)).toBe('current');
    directory.learn(state('ann', 2));
    expect([0, 1, 2, 3].map((version) => directory.standing('ann', version))).toEqual([
      'outdated',
      'outdated',
      'current',
      'current', // issued after a change this process has not heard of yet
    ]);
    directory.learn(state('ann', 1)); // late: ignored
    expect(directory.standing('ann', 1)).toBe('outdated');
    directory.learn(state('ann', 3, { deleted: true }));
    expect(directory.standing('ann', 99)).toBe('deleted');
    expect(directory.size).toBe(1);
  });
});
