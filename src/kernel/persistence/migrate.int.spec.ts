/**
 * Two processes starting on one database (two instances of a module on one host) must not both
 * apply a pending migration. The losing order is forced: another process has begun applying the
 * pending migration and holds the write lock when this one starts migrating. (drizzle's own
 * migrator read "what is applied" before its BEGIN and failed here with "table already exists".)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { afterAll, describe, expect, it } from 'vitest';
import { migrationsRoot } from '../paths.js';
import { openModuleDatabase } from './db.js';
import { migrateModuleDatabase } from './migrate.js';

const PROJECT_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** Applies the newest kernel migration in a transaction it holds open for HOLD_MS, then commits. */
const RIVAL = `
const { readMigrationFiles } = await import('drizzle-orm/migrator');
const { openModuleDatabase } = await import('./src/kernel/persistence/db.ts');
const database = openModuleDatabase(process.env.DATA_DIR, 'orders');
const newest = readMigrationFiles({ migrationsFolder: process.env.FOLDER }).at(-1);
database.writer.exec('BEGIN IMMEDIATE');
for (const statement of newest.sql) if (statement.trim()) database.writer.exec(statement);
database.writer
  .prepare('INSERT INTO __migrations_kernel ("hash", "created_at") VALUES (?, ?)')
  .run(newest.hash, newest.folderMillis);
console.log('HOLDING');
const until = Date.now() + Number(process.env.HOLD_MS);
while (Date.now() < until) {}
database.writer.exec('COMMIT');
database.close();
`;

describe('migrations from several processes at once', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'migrate-race-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('waits for a process that is applying the pending migration, then applies nothing twice', {
    timeout: 30_000,
  }, async () => {
    // A database one kernel migration behind (as after an upgrade of the code): every kernel
    // migration but the newest applied, and recorded, as the migrator does.
    const migrations = readMigrationFiles({ migrationsFolder: join(migrationsRoot, 'kernel') });
    expect(migrations.length).toBeGreaterThanOrEqual(2);
    const old = openModuleDatabase(dataDir, 'orders');
    old.writer.exec(
      'CREATE TABLE __migrations_kernel (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)',
    );
    for (const migration of migrations.slice(0, -1)) {
      for (const statement of migration.sql) if (statement.trim()) old.writer.exec(statement);
      old.writer
        .prepare('INSERT INTO __migrations_kernel ("hash", "created_at") VALUES (?, ?)')
        .run(migration.hash, migration.folderMillis);
    }
    old.close();

    const rival = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', RIVAL], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, DATA_DIR: dataDir, FOLDER: join(migrationsRoot, 'kernel'), HOLD_MS: '1000' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => rival.on('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: rival.stdout }).on('line', (line) => {
        if (line === 'HOLDING') resolve();
      });
      void exited.then((code) => reject(new Error(`the rival exited (${code}) before holding the lock`)));
    });

    const database = openModuleDatabase(dataDir, 'orders');
    try {
      await migrateModuleDatabase(database); // waits for the rival's lock on timers, then finds it applied
      const rows = database.writer.prepare('SELECT hash FROM __migrations_kernel').all() as {
        hash: string;
      }[];
      // the newest migration ran once (the rival's), the others once each
      expect(rows).toHaveLength(migrations.length);
      expect(new Set(rows.map((row) => row.hash))).toEqual(new Set(migrations.map((m) => m.hash)));
    } finally {
      database.close();
    }
    expect(await exited).toBe(0);
  });
});
