/**
 * Real processes for the split-deployment test: the supervisor (scripts/start-split.ts) with a
 * manifest of its own, single app processes (`node --import tsx src/main.ts`), free ports, and a
 * TCP relay that plays a broker coming up late.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { amqpUrl, redisUrl } from '../../src/kernel/testing/index.js';

export { TcpRelay } from '../../src/kernel/testing/index.js';
export { freePorts } from '../../src/kernel/testing/ports.js';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** What every process of one test deployment shares: its transport, data, namespace, brokers and secrets. */
export function deploymentEnv(deployment: {
  readonly transport: string;
  readonly dataDir: string;
  readonly namespace: string;
  readonly jwtSecret: string;
  readonly admin: { readonly email: string; readonly password: string };
}): Record<string, string> {
  return {
    TRANSPORT: deployment.transport,
    DATA_DIR: deployment.dataDir,
    BUS_NAMESPACE: deployment.namespace,
    JWT_SECRET: deployment.jwtSecret,
    ADMIN_EMAIL: deployment.admin.email,
    ADMIN_PASSWORD: deployment.admin.password,
    REDIS_URL: redisUrl,
    AMQP_URL: amqpUrl,
    LOG_LEVEL: process.env.SPLIT_LOG_LEVEL ?? 'warn',
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A child process whose output lines are kept (the last `keep`) and can be waited for. */
export class Proc {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #waiters = new Set<{ test: (line: string) => boolean; resolve: (line: string) => void }>();

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly keep = 600,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => this.#line(line));
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  #line(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.keep) this.lines.shift();
    for (const waiter of this.#waiters) {
      if (waiter.test(line)) {
        this.#waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  }

  /** Lines (kept ones) matching `pattern`. */
  matching(pattern: RegExp): string[] {
    return this.lines.filter((line) => pattern.test(line));
  }

  tail(n = 80): string {
    return this.lines.slice(-n).join('\n');
  }
}

export interface ProcessEntry {
  readonly modules: readonly string[];
  readonly port: number;
  readonly instances?: number;
  readonly env?: Record<string, string>;
}

/** Starts the supervisor on a manifest written to `dir`, in a process group of its own. */
export function startSupervisor(
  dir: string,
  processes: Record<string, ProcessEntry>,
  env: Record<string, string>,
): Proc {
  const manifest = join(dir, 'split.json');
  writeFileSync(manifest, JSON.stringify({ env: { TRUST_PROXY: '127.0.0.1' }, processes }, null, 2));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/start-split.ts', '--manifest', manifest, '--runner', 'tsx', '--raw'],
    {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: the test can always take down every child with it
    },
  );
  return new Proc('supervisor', child, 3000);
}

/**
 * Starts one app process with this environment: `node --import tsx src/main.ts`, or with `dist`
 * the build (`node dist/src/main.js`: lighter, for load tests; see test/start/projects.ts freshDist).
 */
export function startApp(name: string, env: Record<string, string>, runner: 'tsx' | 'dist' = 'tsx'): Proc {
  const args = runner === 'dist' ? ['dist/src/main.js'] : ['--import', 'tsx', 'src/main.ts'];
  const child = spawn(process.execPath, args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  return new Proc(name, child);
}

/** SIGKILLs the process group of `proc` (the supervisor and every child it started). */
export async function killGroup(proc: Proc): Promise<void> {
  const pid = proc.child.pid;
  if (pid !== undefined) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await Promise.race([proc.exited, sleep(5000)]);
}

/** Resolves once `url` answers 200 (polling), or rejects after `timeoutMs`. */
export async function waitForOk(url: string, timeoutMs: number, proc?: Proc): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc && !proc.running)
      throw new Error(`${proc.name} exited while waiting for ${url}:\n${proc.tail(40)}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      last = `${response.status} ${await response.text()}`;
      if (response.ok) return;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(200);
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms (last: ${last.slice(0, 300)})`);
}
