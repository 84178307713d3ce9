/**
 * The process (src/main.ts) on a RabbitMQ that refuses its login: one line on stderr naming
 * AMQP_URL with the broker's reason and the password redacted, exit code 1, in seconds (a broker
 * that does not answer is waited for instead, while the process serves). The same when the
 * refusal comes only once a broker that was away answers (a TCP relay opened late): the process
 * served meanwhile, then stops. Needs the shared broker; skipped without it (a failure with
 * REQUIRE_BROKERS=1).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { amqpSkipReason, amqpUrl, freePorts, TcpRelay } from '../../src/kernel/testing/index.js';
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
  const killer = setTimeout(() => child.kill('SIGKILL'), 25_000); // a refusal taken for an outage would serve and wait
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

    it('a refusal once a broker that was away answers: served meanwhile, then the same line and exit 1', async () => {
      if (skip) throw new Error(`RabbitMQ is required (REQUIRE_BROKERS=1): ${skip}`);
      const [httpPort = 0, relayPort = 0] = await freePorts(2);
      const relay = TcpRelay.to(amqpUrl, 5672, relayPort);
      const password = `wrong-${randomUUID().slice(0, 8)}`;
      const url = new URL(amqpUrl);
      url.password = password;
      url.port = String(relayPort);
      const dataDir = mkdtempSync(join(tmpdir(), 'refusal-late-e2e-'));
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        env: {
          ...process.env,
          TRANSPORT: 'rabbitmq',
          AMQP_URL: url.toString(),
          JWT_SECRET,
          DATA_DIR: dataDir,
          PORT: String(httpPort),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
          SERVICE_REGISTRY: 'off',
          BUS_NAMESPACE: `refusal-late-${randomUUID().slice(0, 8)}`,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        // it serves while the broker is away
        const live = await until(async () => {
          if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${stderr}`);
          const response = await fetch(`http://127.0.0.1:${httpPort}/health/live`).catch(() => undefined);
          return response?.status === 200;
        }, 25_000);
        expect(live).toBe(true);
        expect(stdout).toContain('does not answer yet: serving without the bus');
        const ready = await fetch(`http://127.0.0.1:${httpPort}/health/ready`);
        expect(ready.status).toBe(503);

        await relay.start(); // the broker answers, and refuses the login
        const openedAt = Date.now();
        const code = await Promise.race([exited, sleep(20_000).then(() => 'still running')]);
        expect(code, stdout.slice(-2000)).toBe(1);
        expect(Date.now() - openedAt).toBeLessThan(10_000);
        const lines = stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(
          /^Configuration error: AMQP_URL: .*ACCESS_REFUSED.* at amqp:\/\/\S+:\*\*\*@/,
        );
        expect(stderr + stdout).not.toContain(password);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        await relay.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    }, 60_000);
  },
);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 200 ms until it returns true or `timeoutMs` passes; what it returned last. */
async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(200);
  }
}
