/**
 * `npm run bench`: every row of CONTRACT section 7 in one run, side by side with the raw libraries
 * measured in the same run, written to BENCHMARKS.md (or `--out`). `--quick` is a smoke run.
 * Progress goes to stderr, one line per row started and finished.
 */
import { writeFileSync } from 'node:fs';
import { brokerVersions } from './lib/brokers.js';
import { dropBenchDatabases } from './lib/databases.js';
import { parseOptions } from './lib/options.js';
import { renderReport } from './lib/report.js';
import { progress, type Row, runRow } from './lib/rows.js';
import { e2eRows } from './rows/e2e-rows.js';
import { messageRows } from './rows/message-rows.js';

const options = parseOptions(process.argv.slice(2));
const startedAt = new Date();
const t0 = performance.now();
const e2e = e2eRows(options);
const specs = [...messageRows(options), ...e2e.rows].filter(
  (spec) => !options.only || options.only.test(spec.id),
);
progress(`${options.quick ? 'quick' : 'full'} run of ${specs.length} rows → ${options.out}`);
const rows: Row[] = [];
try {
  for (const spec of specs) rows.push(await runRow(spec));
} finally {
  await e2e.close().catch((error: unknown) => progress(`cleanup failed: ${String(error)}`));
  await dropBenchDatabases();
}
const brokers = await brokerVersions().catch(() => []);
const seconds = (performance.now() - t0) / 1000;
writeFileSync(options.out, renderReport({ rows, options, brokers, startedAt, seconds }));
const failed = rows.filter((row) => row.outcome.kind === 'failed');
progress(
  `wrote ${options.out} in ${seconds.toFixed(0)} s${failed.length > 0 ? `; ${failed.length} row(s) FAILED` : ''}`,
);
// Broker clients and timers of failed rows must not keep the process alive.
process.exit(failed.length > 0 ? 1 : 0);
