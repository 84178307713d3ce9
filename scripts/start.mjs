#!/usr/bin/env node
/**
 * `npm start` (`exec node scripts/start.mjs`): starts the built app from dist/ in this very process,
 * so the signal that stops `npm start` (npm forwards SIGINT and SIGTERM to its script, and `exec`
 * makes node that script) reaches the server itself and no orphan keeps the port.
 *
 * Before it loads dist/, it waits for a build in progress, builds once when dist/ is missing, and
 * warns in one line when dist/ is older than the sources (scripts/build.mjs); it never rebuilds an
 * existing dist/, so a start takes about a second.
 */
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BuildError, DIST, ensureBuilt } from './build.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
try {
  await ensureBuilt(root);
} catch (error) {
  process.stderr.write(`build: ${error instanceof BuildError ? error.message : String(error)}\n`);
  process.exit(1);
}
await import(pathToFileURL(join(root, DIST, 'src', 'main.js')).href);
