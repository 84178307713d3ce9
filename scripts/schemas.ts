/**
 * The message schema compatibility gate (docs/adr/0013), over schemas/messages/<type>.json.
 *
 *   npx tsx scripts/message-schemas.ts           checks, then writes the snapshots (`npm run schemas`)
 *   npx tsx scripts/message-schemas.ts --check   exits 1 on a change the policy forbids, or on a
 *                                                snapshot out of date (`npm run check:schemas`)
 *
 * The types are read from a kernel started with every module of src/app.ts's catalogue, as
 * scripts/event-map.ts does: every type a running process registers, the kernel's own included.
 * Writing refuses a forbidden change too: a snapshot never records one, so it cannot be waved
 * through by regenerating; the remedy is a new version with its upcaster.
 */
import { pathToFileURL } from 'node:url';
import { readRunningSystem } from './event-map.js';
import { formatProblem, type GateResult, type GateSubject, runGate } from './schema-gate/gate.js';
import { outOfDate, readSnapshots, SNAPSHOT_DIR, writeSnapshots } from './schema-gate/snapshot-files.js';

/** The gate over the build's message types and the snapshots in `dir`. */
export async function gateMessageSchemas(
  dir = SNAPSHOT_DIR,
  subjects?: readonly GateSubject[],
): Promise<GateResult> {
  const declared = subjects ?? (await readRunningSystem()).messages;
  return runGate(declared, readSnapshots(dir));
}

async function main(check: boolean): Promise<void> {
  const { problems, snapshots } = await gateMessageSchemas();
  if (problems.length > 0) {
    console.error(`Message schemas break the compatibility policy (docs/adr/0013):`);
    for (const problem of problems) console.error(`  ${formatProblem(problem)}`);
    process.exitCode = 1;
    return;
  }
  const stale = outOfDate(SNAPSHOT_DIR, snapshots);
  if (!check) {
    writeSnapshots(SNAPSHOT_DIR, stale);
    console.log(`${stale.length} snapshot(s) written in schemas/messages (${snapshots.length} types)`);
    return;
  }
  if (stale.length > 0) {
    console.error(
      `schemas/messages is out of date for ${stale.map((s) => s.type).join(', ')}: run \`npm run schemas\`, review and commit the result.`,
    );
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.includes('--check'));
}
