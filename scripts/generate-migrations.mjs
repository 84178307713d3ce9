#!/usr/bin/env node
// Generates drizzle-kit migrations, for each dialect, of the kernel and of every module with tables
// (scripts/migration-targets.mjs: migrations/<name> for SQLite, migrations/postgres/<name> for
// PostgreSQL). A target whose schema has not changed gets nothing new.
//
//   npm run db:generate [-- [--dialect sqlite|postgresql] [--name <what_changed>] [--custom] [name…]]
//
// --dialect: one dialect only (default: both; change a table in schema.ts and schema.pg.ts together,
// the drift spec test/persistence/schema-drift.unit.spec.ts insists). --name: the migration file's
// suffix (`0003_<name>.sql`), as drizzle-kit's own option. --custom: an empty migration to write by
// hand (SQL drizzle-kit does not model: triggers, data moves). name…: only these targets (`kernel`, modules).
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { DIALECT_NAMES, migrationTargets, ROOT } from './migration-targets.mjs';

const { values, positionals } = parseArgs({
  options: { dialect: { type: 'string' }, name: { type: 'string' }, custom: { type: 'boolean' } },
  allowPositionals: true,
});
const dialects = values.dialect ? [values.dialect] : DIALECT_NAMES;

for (const dialect of dialects) {
  for (const { name, schema, out } of migrationTargets(dialect)) {
    if (positionals.length > 0 && !positionals.includes(name)) continue;
    console.log(`> ${dialect} ${name}: ${schema} -> ${out}`);
    const args = ['drizzle-kit', 'generate', '--dialect', dialect, '--schema', schema, '--out', out];
    if (values.name) args.push('--name', values.name);
    if (values.custom) args.push('--custom');
    const result = spawnSync('npx', args, { cwd: ROOT, stdio: 'inherit' });
    if (result.status !== 0) process.exit(result.status ?? 1);
  }
}
