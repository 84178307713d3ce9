/**
 * Smoke test of `npm run bench -- --quick`: the whole suite runs in small counts and writes a
 * report in which every row has figures or says why it was not measured. No timing assertions:
 * the figures depend on the machine and on whatever else runs on it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { e2eRows } from '../../scripts/bench/rows/e2e-rows.js';
import { messageRows } from '../../scripts/bench/rows/message-rows.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'bench-quick-'));
const out = join(dir, 'BENCHMARKS.md');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const options = { quick: true, out, only: undefined, profileDir: undefined, soakSeconds: undefined };
const e2e = e2eRows(options);
const expectedIds = [...messageRows(options), ...e2e.rows].map((row) => row.id);
await e2e.close();

/** Runs the bench; resolves with its exit code and everything it printed. */
function runBench(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', 'bench', '--', '--quick', '--out', out], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** The cells of the table row of `id` (label, id, throughput, p50, p99, ratio, notes). */
function cellsOf(report: string, id: string): string[] | undefined {
  const line = report.split('\n').find((l) => l.startsWith('| ') && l.includes(`| \`${id}\` |`));
  return line
    ?.slice(2, -2)
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

describe('npm run bench -- --quick', () => {
  it('writes every row with figures or an explicit reason, and finishes', { timeout: 300_000 }, async () => {
    const { code, output } = await runBench();
    const report = readFileSync(out, 'utf8');
    expect(report, output).toMatch(/^# Benchmarks/);
    expect(report).toMatch(/Machine: \d+ cores/);
    expect(report).toMatch(/Node v20\./);
    for (const id of expectedIds) {
      const cells = cellsOf(report, id);
      expect(cells, `row ${id} is missing from the report`).toBeDefined();
      const [, , value = '', p50 = '', p99 = ''] = cells ?? [];
      if (/^(skipped|not yet measured): \S/.test(value)) {
        if (process.env.REQUIRE_BROKERS === '1')
          expect(value, `${id} (REQUIRE_BROKERS=1)`).not.toMatch(/broker:|PostgreSQL does not answer/);
        continue;
      }
      expect(value, `${id}: ${value}\n${output}`).toMatch(/^\d[\d.]*[kM]? (msg|tx|req|orders)\/s$|^\d+ MB$/);
      if (!value.endsWith('MB')) {
        expect(p50, `${id} p50`).toMatch(/\d/);
        expect(p99, `${id} p99`).toMatch(/\d/);
      }
    }
    expect(report).not.toContain('FAILED');
    expect(code, output).toBe(0);
  });
});
