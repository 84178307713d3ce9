// What drizzle-kit generates migrations from, per dialect: one folder and one schema file per target
// (the kernel, and each module with tables). Read by scripts/generate-migrations.mjs and by the spec
// that checks the committed migrations are up to date (test/persistence/migrations-current.unit.spec.ts).
//
//   migrations/<name>            SQLite: kernel-schema.ts, src/modules/<name>/schema.ts
//   migrations/postgres/<name>   PostgreSQL: kernel-schema.pg.unqualified.ts (no schema: applied into
//                                each module's schema), src/modules/<name>/schema.pg.ts (in schema <name>)
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** drizzle-kit's `--dialect` → the schema file of the kernel and of a module, and the folder. */
const DIALECTS = {
  sqlite: {
    kernel: 'src/kernel/persistence/kernel-schema.ts',
    module: 'schema.ts',
    out: (name) => `migrations/${name}`,
  },
  postgresql: {
    kernel: 'src/kernel/persistence/kernel-schema.pg.unqualified.ts',
    module: 'schema.pg.ts',
    out: (name) => `migrations/postgres/${name}`,
  },
};

export const DIALECT_NAMES = Object.keys(DIALECTS);

/** The targets of one dialect (types: migration-targets.d.mts). */
export function migrationTargets(dialect) {
  const files = DIALECTS[dialect];
  if (!files) throw new Error(`unknown dialect ${dialect} (one of ${DIALECT_NAMES.join(', ')})`);
  const targets = [{ dialect, name: 'kernel', schema: files.kernel, out: files.out('kernel') }];
  for (const module of readdirSync(join(ROOT, 'src/modules')).sort()) {
    // a module has tables when it has a SQLite schema; its PostgreSQL twin is then required
    if (!existsSync(join(ROOT, 'src/modules', module, 'schema.ts'))) continue;
    const schema = `src/modules/${module}/${files.module}`;
    targets.push({ dialect, name: module, schema, out: files.out(module) });
  }
  return targets;
}
