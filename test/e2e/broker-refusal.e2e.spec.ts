/**
 * The process (src/main.ts) on a RabbitMQ that refuses its login: one line on stderr naming
 * AMQP_URL with the broker's reason and the password redacted, exit code 1, in seconds (not after
 * the 30 s wait for a broker that does not answer). Needs the shared broker; skipped without it
 * (a failure with REQUIRE_BROKERS=1).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { amqpSkipReason, amqpUrl } from '../../src/kernel/testing/index.js';
import { JWT_SECRET } from './harness.js';

const skip = await amqpSkipReason();
if (skip && process.env.REQUIRE_BROKERS !== '1') console.warn(`[broker refusal e2e] skipped: ${skip}`);

/** Runs src/main.ts until it exits; its exit code, stderr and how long it ran. */
function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string; ms: number }> {
  const startedAt = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), 25_000); // the 30 s wait must not be reached
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stderr, ms: Date.now() - startedAt });
    }),
  );
}

describe.skipIf(skip !== undefined && process.env.REQUIRE_BROKERS !== '1')(
  'the process on a refusing broker',
  () => {
    it('prints one Configuration error line naming AMQP_URL and ACCESS_REFUSED, and exits 1 at once', async () => {
      if (skip) throw new Error(`RabbitMQ is required (REQUIRE_BROKERS=1): ${skip}`);
      const password = `wrong-${randomUUID().slice(0, 8)}`;
      const url = new URL(amqpUrl);
      url.password = password;
      const dataDir = mkdtempSync(join(tmpdir(), 'refusal-e2e-'));
      try {
        const { code, stderr, ms } = await runMain({
          TRANSPORT: 'rabbitmq',
          AMQP_URL: url.toString(),
          JWT_SECRET,
          DATA_DIR: dataDir,
        });
        expect(code).toBe(1);
        const lines = stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(
          /^Configuration error: AMQP_URL: .*ACCESS_REFUSED.* at amqp:\/\/\S+:\*\*\*@/,
        );
        expect(stderr).not.toContain(password);
        expect(ms).toBeLessThan(15_000); // tsx compiles the app first; the broker part is ~0.1 s
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  },
);
