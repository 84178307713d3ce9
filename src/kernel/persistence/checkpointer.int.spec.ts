import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.js';
import { eventually } from '../testing/index.js';
import { checkpointInBackground } from './checkpointer.js';
import { type ModuleDatabase, openModuleDatabase } from './db.js';

describe('WAL checkpointer thread', () => {
  let dir = '';
  let database: ModuleDatabase | undefined;
  afterEach(() => {
    database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('moves committed pages into the database file off the main thread, and stops cleanly', async () => {
    dir = mkdtempSync(join(tmpdir(), 'checkpointer-'));
    const db = openModuleDatabase(dir, 'alpha');
    database = db;
    const checkpointer = checkpointInBackground([db], createLogger('silent'));
    // commits on this thread no longer checkpoint: the database file only grows by the thread's work
    expect(db.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    db.sqlite.exec('CREATE TABLE alpha_blobs (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    const insert = db.sqlite.prepare('INSERT INTO alpha_blobs (body) VALUES (?)');
    for (let i = 0; i < 2000; i++) db.writeTransaction(() => insert.run('x'.repeat(1000)));
    await eventually(() => expect(statSync(db.file).size).toBeGreaterThan(2_000_000), { timeoutMs: 5000 });
    await checkpointer.close();
    await checkpointer.close(); // idempotent
    expect(db.sqlite.prepare('SELECT COUNT(*) FROM alpha_blobs').pluck().get()).toBe(2000);
  });
});
