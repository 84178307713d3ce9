/**
 * The supervisor of `npm run start:split` (scripts/start-split.ts) on its own, with real
 * processes on the in-memory transport (no broker needed):
 * - a process that dies is restarted with backoff; Ctrl-C (SIGINT) stops every process, exit 0;
 * - a process that fails right at start five times in a row (a configuration error) stops
 *   everything, with its error line shown, and the supervisor exits 1 instead of looping.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePorts, killGroup, type Proc, startSupervisor, waitForOk } from './cluster.js';

const env = { TRANSPORT: 'memory', SERVICE_REGISTRY: 'off', LOG_LEVEL: 'info' };
const started: { proc: Proc; dir: string }[] = [];

afterEach(async () => {
  for (const { proc, dir } of started.splice(0)) {
    await killGroup(proc);
    rmSync(dir, { recursive: true, force: true });
  }
});

function supervise(processes: Parameters<typeof startSupervisor>[1]): Proc {
  const dir = mkdtempSync(join(tmpdir(), 'supervisor-'));
  const withData = Object.fromEntries(
    Object.entries(processes).map(([name, entry]) => [
      name,
      { ...entry, env: { DATA_DIR: join(dir, name), ...entry.env } },
    ]),
  );
  const proc = startSupervisor(dir, withData, env);
  started.push({ proc, dir });
  return proc;
}

const pidOf = (line: string): number => Number(/\(pid (\d+)\)/.exec(line)?.[1]);

describe('split supervisor', () => {
  it('restarts a process that dies, and stops every process on Ctrl-C with exit 0', async () => {
    const [port = 0] = await freePorts(1);
    const supervisor = supervise({ users: { modules: ['users'], port } });
    await waitForOk(`http://127.0.0.1:${port}/health/ready`, 60_000, supervisor);
    const [first = ''] = supervisor.matching(/^\[split\] users started \(pid/);
    process.kill(pidOf(first), 'SIGKILL');

    await waitForOk(`http://127.0.0.1:${port}/health/ready`, 60_000, supervisor);
    expect(
      supervisor.matching(/^\[split\] users exited \(signal SIGKILL\) after \d+ s; restarting in 1 s$/),
    ).toHaveLength(1);
    const starts = supervisor.matching(/^\[split\] users started \(pid/);
    expect(starts).toHaveLength(2);
    expect(pidOf(starts[1] ?? '')).not.toBe(pidOf(first));

    supervisor.child.kill('SIGINT');
    expect(await supervisor.exited).toEqual({ code: 0, signal: null });
    expect(supervisor.matching(/^\[split\] users stopped/)).toHaveLength(1);
    await expect(fetch(`http://127.0.0.1:${port}/health/live`)).rejects.toThrow();
  }, 120_000);

  it('stops everything and exits 1 when a process fails right at start five times in a row', async () => {
    const [goodPort = 0, badPort = 0] = await freePorts(2);
    const supervisor = supervise({
      users: { modules: ['users'], port: goodPort },
      broken: { modules: ['orders'], port: badPort, env: { TRANSPORT: 'carrier-pigeon' } },
    });
    const exit = await supervisor.exited;
    expect(exit, supervisor.tail()).toEqual({ code: 1, signal: null });
    // the process's own one-line configuration error, under its name, once per attempt
    expect(supervisor.matching(/^\[broken\] .*TRANSPORT/).length).toBeGreaterThanOrEqual(5);
    expect(supervisor.matching(/^\[split\] broken started/)).toHaveLength(5);
    expect(supervisor.matching(/^\[split\] broken failed 5 times right at start/)).toHaveLength(1);
    // the healthy process was stopped with it, not left behind
    expect(supervisor.matching(/^\[split\] users stopped/)).toHaveLength(1);
    await expect(fetch(`http://127.0.0.1:${goodPort}/health/live`)).rejects.toThrow();
  }, 120_000);
});
