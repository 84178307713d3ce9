/**
 * A newcomer's `npm start`, on a copy of this project with its dist/ built (test/start/projects.ts):
 * - it starts from dist/ in about a second (under 3 s here) and ends with one line naming the URL;
 * - a port in use is one line and exit 1 at once, before any broker is tried;
 * - SIGTERM or SIGINT to the `npm start` process stops the server: no node is left on the port.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/kernel/testing/index.js';
import { copyOfProject, Proc, runNode, waitForLine } from './projects.js';

const LISTENING = /listening on http:\/\/127\.0\.0\.1:\d+ \(transport memory, modules: all\)/;
/** The brief's "about a second", with room for a busy two-core machine. */
const START_BUDGET_MS = 3000;

let project: string;
const dataDirs: string[] = [];
const procs: Proc[] = [];

beforeAll(async () => {
  project = await copyOfProject();
}, 180_000);
/** npm start runs in a process group of its own: a failed test takes down npm, sh and node with it. */
const groups: number[] = [];
afterEach(() => {
  for (const proc of procs.splice(0)) proc.child.kill('SIGKILL');
  for (const pid of groups.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

function env(port: number, extra: Record<string, string> = {}): Record<string, string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'first-run-data-'));
  dataDirs.push(dataDir);
  return { PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info', ...extra };
}

/** `node scripts/start.mjs`: what `npm start` execs. */
function start(port: number, extra: Record<string, string> = {}): Proc {
  const proc = runNode('start', project, ['scripts/start.mjs'], env(port, extra));
  procs.push(proc);
  return proc;
}

/** The message of a JSON log line (stdout is a pipe here: JSON, not pretty). */
function messageOf(line: string): string {
  try {
    const entry: unknown = JSON.parse(line);
    return typeof entry === 'object' && entry !== null && 'msg' in entry ? String(entry.msg) : line;
  } catch {
    return line;
  }
}

/** Milliseconds from spawning a start to its listening line; the process keeps running. */
async function timedStart(port: number): Promise<{ ms: number; proc: Proc }> {
  const startedAt = performance.now();
  const proc = start(port);
  await waitForLine(proc, LISTENING, 30_000);
  return { ms: performance.now() - startedAt, proc };
}

async function stop(proc: Proc): Promise<void> {
  proc.child.kill('SIGTERM');
  expect(await proc.exited, proc.tail()).toEqual({ code: 0, signal: null });
}

/** Resolves when nothing listens on the port any more (we can bind it ourselves). */
async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  const free = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (free) await new Promise((resolve) => server.close(resolve));
  return free;
}

describe('npm start from a built dist/', () => {
  it(`answers within ${START_BUDGET_MS} ms and ends its start with one listening line`, async () => {
    const port = await freePort();
    let { ms, proc } = await timedStart(port);
    if (ms > START_BUDGET_MS) {
      // the first start of a run also warms the file cache: a second one is the steady state
      await stop(proc);
      ({ ms, proc } = await timedStart(port));
    }
    expect(ms).toBeLessThan(START_BUDGET_MS);
    const response = await fetch(`http://127.0.0.1:${port}/`);
    expect(response.status).toBe(200);

    await stop(proc);
    const messages = proc.lines.map(messageOf);
    const listening = messages.filter((message) => message.includes('listening'));
    expect(listening).toEqual([
      `modulith listening on http://127.0.0.1:${port} (transport memory, modules: all) — ` +
        `API docs http://127.0.0.1:${port}/docs, admin http://127.0.0.1:${port}/admin`,
    ]);
    // the last line of the start: only the request and the shutdown come after it
    const after = messages.slice(messages.indexOf(listening[0] ?? '') + 1);
    expect(
      after.every((m) => /request|SIGTERM|stopped/.test(m)),
      after.join('\n'),
    ).toBe(true);
    expect(messages.some((message) => message.startsWith('Warning: dist/'))).toBe(false);
  }, 60_000);

  it('stops at once with one PORT line when the port is in use, before trying the broker', async () => {
    const holder: Server = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      const startedAt = performance.now();
      // a broker that answers nothing: a start that tried it would wait for it for 30 s
      const proc = start(port, {
        TRANSPORT: 'rabbitmq',
        AMQP_URL: 'amqp://guest:guest@127.0.0.1:1',
        JWT_SECRET: 'first-run-spec-secret-0123456789abcdef',
      });
      const exit = await proc.exited;
      const ms = performance.now() - startedAt;
      expect(exit).toEqual({ code: 1, signal: null });
      expect(proc.lines).toEqual([
        `Configuration error: PORT: 127.0.0.1:${port} is already in use (another process listens there: stop it, or set PORT)`,
      ]);
      expect(ms).toBeLessThan(START_BUDGET_MS);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  }, 30_000);

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'stops the server when the npm start process gets %s: the port is free after',
    async (signal) => {
      const port = await freePort();
      const npm = spawn('npm', ['start'], {
        cwd: project,
        env: { ...process.env, ...env(port) },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      if (npm.pid !== undefined) groups.push(npm.pid);
      const proc = new Proc('npm start', npm);
      const line = await waitForLine(proc, LISTENING, 30_000);
      const serverPid = Number((JSON.parse(line) as { pid: number }).pid);
      expect(serverPid).not.toBe(npm.pid); // the server is npm's child: npm must pass the signal on

      npm.kill(signal);
      expect(await proc.exited, proc.tail()).toEqual({ code: 0, signal: null });
      expect(proc.lines.map(messageOf)).toEqual(
        expect.arrayContaining([`${signal}: shutting down`, 'kernel stopped']),
      );
      expect(isRunning(serverPid)).toBe(false);
      expect(await portIsFree(port)).toBe(true);
    },
    60_000,
  );
});

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
