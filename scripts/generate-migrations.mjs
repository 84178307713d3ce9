#!/usr/bin/env node
// Generates drizzle-kit migrations: migrations/kernel from the kernel schema, and
// migrations/<module> from each src/modules/<module>/schema.ts. Usage: npm run db:generate [module…]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const only = process.argv.slice(2);
const targets = [['kernel', 'src/kernel/persistence/kernel-schema.ts']];
for (const module of readdirSync('src/modules')) {
  const schema = `src/modules/${module}/schema.ts`;
  if (existsSync(schema)) targets.push([module, schema]);
}
for (const [name, schema] of targets) {
  if (only.length > 0 && !only.includes(name)) continue;
  console.log(`> ${name}: ${schema} -> migrations/${name}`);
  const result = spawnSync(
    'npx',
    ['drizzle-kit', 'generate', '--dialect', 'sqlite', '--schema', schema, '--out', `migrations/${name}`],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) process.exit(result.status ?? 1);
}
