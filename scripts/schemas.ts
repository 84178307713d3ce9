/**
 * The schema compatibility gate (docs/adr/0015), over the snapshots in schemas/: every message
 * type (schemas/messages/<type>.json) and every stored event type of a module
 * (schemas/stored/<module>.<Name>.json).
 *
 *   npx tsx scripts/schemas.ts           checks, then writes the snapshots (`npm run schemas`)
 *   npx tsx scripts/schemas.ts --check   exits 1 on a change the policy forbids, or on a snapshot
 *                                        out of date (`npm run check:schemas`)
 *
 * The message types are read from a kernel started with every module of src/app.ts's catalogue,
 * as scripts/event-map.ts does: every type a running process registers; the stored event types
 * from the catalogue's `storedEvents`. Writing refuses a forbidden change too: a snapshot never
 * records one, so it cannot be waved through by regenerating; the remedy is a new version with its
 * upcaster.
 */
import { pathToFileURL } from 'node:url';
import { moduleCatalogue } from '../src/app.js';
import { readRunningSystem } from './event-map.js';
import { formatProblem, type GateResult, type GateSubject, runGate } from './schema-gate/gate.js';
import { outOfDate, readSnapshots, SNAPSHOT_DIR, writeSnapshots } from './schema-gate/snapshot-files.js';

/** Every type the build declares: its message types, and the events its modules store. */
export async function declaredTypes(): Promise<GateSubject[]> {
  const stored = moduleCatalogue.flatMap((module) => module.storedEvents?.all() ?? []);
  return [...(await readRunningSystem()).messages, ...stored];
}

/** The gate over `subjects` (default: the build's types) and the snapshots in `dir`. */
export async function gateSchemas(
  dir = SNAPSHOT_DIR,
  subjects?: readonly GateSubject[],
): Promise<GateResult> {
  return runGate(subjects ?? (await declaredTypes()), readSnapshots(dir));
}

async function main(check: boolean): Promise<void> {
  const { problems, snapshots } = await gateSchemas();
  if (problems.length > 0) {
    console.error('Schemas break the compatibility policy (docs/adr/0015):');
    for (const problem of problems) console.error(`  ${formatProblem(problem)}`);
    process.exitCode = 1;
    return;
  }
  const stale = outOfDate(SNAPSHOT_DIR, snapshots);
  if (!check) {
    writeSnapshots(SNAPSHOT_DIR, stale);
    console.log(`${stale.length} snapshot(s) written in schemas/ (${snapshots.length} types)`);
    return;
  }
  if (stale.length > 0) {
    console.error(
      `schemas/ is out of date for ${stale.map((s) => s.type).join(', ')}: run \`npm run schemas\`, review and commit the result.`,
    );
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.includes('--check'));
}
