/**
 * The committed migrations are what drizzle-kit would write for today's tables: for every target of
 * scripts/migration-targets.mjs (the kernel and each module, SQLite and PostgreSQL), the difference
 * between the newest snapshot in its folder and its schema file is empty, so `npm run db:generate`
 * would write nothing new. A table changed without a migration fails here, naming the folder and
 * the SQL that is missing. drizzle-kit's API does the diff in process (its CLI, once per target,
 * would take half a minute).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  generateDrizzleJson,
  generateMigration,
  generateSQLiteDrizzleJson,
  generateSQLiteMigration,
} from 'drizzle-kit/api';
import { describe, expect, it } from 'vitest';
import { DIALECT_NAMES, type Dialect, migrationTargets, ROOT } from '../../scripts/migration-targets.mjs';

type PgSnapshot = Parameters<typeof generateMigration>[0];
type SqliteSnapshot = Parameters<typeof generateSQLiteMigration>[0];

/** The snapshot drizzle-kit wrote with the newest migration of a folder. */
function newestSnapshot(out: string): unknown {
  const journal = JSON.parse(readFileSync(join(ROOT, out, 'meta/_journal.json'), 'utf8')) as {
    entries: { idx: number }[];
  };
  const newest = journal.entries.at(-1);
  if (!newest) throw new Error(`${out}: the journal lists no migration`);
  const file = `${String(newest.idx).padStart(4, '0')}_snapshot.json`;
  return JSON.parse(readFileSync(join(ROOT, out, 'meta', file), 'utf8'));
}

/** The SQL drizzle-kit would generate for the schema file beyond the folder's newest snapshot. */
async function pendingSql(dialect: Dialect, schema: string, out: string): Promise<string[]> {
  const exports: Record<string, unknown> = await import(join(ROOT, schema));
  if (dialect === 'postgresql') {
    return generateMigration(newestSnapshot(out) as PgSnapshot, generateDrizzleJson(exports));
  }
  return generateSQLiteMigration(
    newestSnapshot(out) as SqliteSnapshot,
    await generateSQLiteDrizzleJson(exports),
  );
}

describe.each(DIALECT_NAMES)('committed %s migrations', (dialect) => {
  const targets = migrationTargets(dialect);

  it.each(targets.map((target) => [target.out, target] as const))(
    '%s is up to date with its schema file',
    async (_out, { schema, out }) => {
      const pending = await pendingSql(dialect, schema, out);
      expect(pending, `${schema} changed since ${out} was generated: run npm run db:generate`).toEqual([]);
    },
  );
});
