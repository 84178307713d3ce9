/**
 * `npm run demo` runs as written: the real app listens on a free port (as `npm start` would, with
 * ADMIN_EMAIL/ADMIN_PASSWORD and WEBHOOKS_ALLOW_PRIVATE=1), and scripts/demo.ts runs against it as
 * a child process, exactly as a reader would start it. Its output is what the reader sees, so the
 * assertions read that output.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { type HttpApp, loadConfig } from '../../src/kernel/index.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, allModules, JWT_SECRET } from './harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `node --import tsx scripts/demo.ts …`, asynchronously: the server answers from this same process. */
function runDemo(args: readonly string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', ...args], {
      cwd: ROOT,
      // DEMO_URL from the caller's shell must not override --url; the admin comes from `env`.
      env: { ...withoutDemoVariables(process.env), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function withoutDemoVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  const names = new Set(['DEMO_URL', 'ADMIN_EMAIL', 'ADMIN_PASSWORD']);
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] => !names.has(entry[0]) && entry[1] !== undefined,
    ),
  );
}

describe('npm run demo', () => {
  let dataDir: string;
  let app: HttpApp | undefined;
  let url: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'demo-e2e-'));
    const env = {
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      JWT_SECRET,
      ADMIN_EMAIL,
      ADMIN_PASSWORD,
      WEBHOOKS_ALLOW_PRIVATE: '1',
    };
    app = await buildApp(loadConfig(env, allModules()));
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await app?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('walks through every step and exits 0', async () => {
    // Not the demo's defaults: it must read the admin from the same variables as the server.
    const run = await runDemo(['--url', url], { ADMIN_EMAIL, ADMIN_PASSWORD });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.code, output).toBe(0);

    const numbers = [...run.stdout.matchAll(/^ ?(\d+)\. /gm)].map((match) => Number(match[1]));
    expect(numbers, output).toEqual(Array.from({ length: 14 }, (_, index) => index + 1));
    expect(run.stdout).toContain(`Waiting for ${url}/health/ready`);
    expect(run.stdout).toMatch(/^ 2\. admin session: logged in as admin@e2e\.test \(role admin\)/m);

    // the three terminal statuses, with their timelines in causal order
    expect(run.stdout).toMatch(/order 1 \(confirmed\): .* → confirmed; balance 25\.00/);
    expect(run.stdout).toMatch(
      /order 2 \(payment failed\): .* → payment_failed \(insufficient_funds\); balance 25\.00/,
    );
    expect(run.stdout).toMatch(/order 3 \(out of stock\): .* → cancelled \(out_of_stock\); balance 25\.00/);
    expect(run.stdout).toContain(
      'orders.order-placed → payments.charge-payment → payments.payment-failed → orders.order-payment-failed',
    );

    expect(run.stdout).toMatch(/notifications of the user: 4 for demo-/);
    expect(run.stdout).toMatch(
      /analytics summary \(admin\): placed 3, confirmed 1, payment failed 1, cancelled 1/,
    );
    expect(run.stdout).toMatch(
      /webhook deliveries: 3 signed deliveries received at http:\/\/127\.0\.0\.1:\d+\/hooks, signatures valid/,
    );
    expect(run.stdout).toContain('the server lists them: delivered (HTTP 204)');
    expect(run.stdout).toContain(
      'dead letters (admin): GET /admin/dead-letters listed 0; POST /admin/dead-letters/replay {} replayed 0',
    );
    expect(run.stderr).toBe('');
  }, 45_000);

  it('stops with exit code 1 and says what to do when the admin login fails', async () => {
    const run = await runDemo(['--url', url], { ADMIN_EMAIL, ADMIN_PASSWORD: 'not-the-admin-password' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /Demo failed at step 2 \(admin session\): admin login as admin@e2e\.test answered 401/,
    );
    expect(run.stderr).toContain('ADMIN_EMAIL and ADMIN_PASSWORD');
  }, 20_000);
});
