/**
 * The build and the start launcher (scripts/build.mjs, scripts/start.mjs) on a tiny project, with
 * real tsc runs and real processes: several starts and builds at once from one folder never load a
 * half-written dist/ (one builds, the others wait), a stale dist/ is one warning line, and an
 * interrupted or failed build leaves dist/ as it was and no lock behind.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildLeftovers, type Proc, runNode, tinyProject, watchDistWhole } from './projects.js';

const dirs: string[] = [];
const procs: Proc[] = [];
afterEach(() => {
  for (const proc of procs.splice(0)) proc.child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function project(): string {
  const dir = tinyProject();
  dirs.push(dir);
  return dir;
}

function run(dir: string, script: 'build' | 'start', name: string = script): Proc {
  const proc = runNode(name, dir, [`scripts/${script}.mjs`]);
  procs.push(proc);
  return proc;
}

async function succeeds(proc: Proc): Promise<void> {
  expect(await proc.exited, `${proc.name}:\n${proc.tail()}`).toEqual({ code: 0, signal: null });
}

const stampOf = (dir: string): string => readFileSync(join(dir, 'dist', '.build-stamp.json'), 'utf8');
const BUILDING = /^build: dist\/ is missing: building it once/;
const WAITING = /^build: waiting for the build in progress/;

describe('starts and builds at once from one folder', () => {
  it('two starts while dist/ is missing: one builds it, both run it, dist/ is never half there', async () => {
    const dir = project();
    const starts = [run(dir, 'start', 'first'), run(dir, 'start', 'second')];
    const broken = await watchDistWhole(dir, Promise.all(starts.map((start) => start.exited)));

    for (const start of starts) {
      await succeeds(start);
      expect(start.matching(/^started$/)).toHaveLength(1);
    }
    expect(starts.flatMap((start) => start.matching(BUILDING))).toHaveLength(1);
    expect(broken).toEqual([]);
    expect(buildLeftovers(dir)).toEqual([]);
  }, 60_000);

  it('starts during a build wait for it and run what it built, without building again', async () => {
    const dir = project();
    const build = run(dir, 'build');
    await waitForLock(dir, build);
    const starts = [run(dir, 'start', 'first'), run(dir, 'start', 'second')];
    const broken = await watchDistWhole(dir, Promise.all([build.exited, ...starts.map((s) => s.exited)]));

    await succeeds(build);
    for (const start of starts) {
      await succeeds(start);
      expect(start.matching(WAITING), start.tail()).toEqual([
        `build: waiting for the build in progress (pid ${build.child.pid})…`,
      ]);
      expect(start.matching(BUILDING)).toEqual([]);
      expect(start.matching(/^started$/)).toHaveLength(1);
    }
    expect(broken).toEqual([]);
    expect(buildLeftovers(dir)).toEqual([]);
  }, 60_000);

  it('a second build waits for the first, then replaces dist/ whole', async () => {
    const dir = project();
    await succeeds(run(dir, 'build', 'initial'));
    const before = stampOf(dir);
    const builds = [run(dir, 'build', 'first'), run(dir, 'build', 'second')];
    const broken = await watchDistWhole(dir, Promise.all(builds.map((build) => build.exited)));

    for (const build of builds) await succeeds(build);
    expect(builds.flatMap((build) => build.matching(WAITING))).toHaveLength(1);
    expect(stampOf(dir)).not.toBe(before);
    expect(broken).toEqual([]);
    expect(buildLeftovers(dir)).toEqual([]);
  }, 60_000);
});

describe('what a build leaves behind', () => {
  it('a lock and a folder left by a build that died are cleared by the next start', async () => {
    const dir = project();
    const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid; // exited: its pid is free
    writeFileSync(join(dir, '.dist.lock'), JSON.stringify({ pid: dead, startedAt: Date.now() }));
    mkdirSync(join(dir, `.dist-build-${dead}`));

    const start = run(dir, 'start');
    await succeeds(start);
    expect(start.matching(/^started$/)).toHaveLength(1);
    expect(start.matching(WAITING)).toEqual([]);
    expect(buildLeftovers(dir)).toEqual([]);
  }, 60_000);

  it('a dist/ without the build stamp (a bare tsc, an older checkout) is built once by the start', async () => {
    const dir = project();
    mkdirSync(join(dir, 'dist/src'), { recursive: true });
    writeFileSync(join(dir, 'dist/src/main.js'), "console.log('old build');\n");

    const start = run(dir, 'start');
    await succeeds(start);
    expect(start.matching(/^build: dist\/ has no build stamp .*: building it once/)).toHaveLength(1);
    expect(start.matching(/^started$/)).toHaveLength(1);
    expect(JSON.parse(stampOf(dir))).toMatchObject({ startedAt: expect.any(Number) });
  }, 60_000);

  it('an interrupted build (SIGTERM) stops tsc and leaves dist/ as it was, with no lock', async () => {
    const dir = project();
    await succeeds(run(dir, 'build', 'initial'));
    const before = stampOf(dir);
    const build = run(dir, 'build');
    await waitForLock(dir, build);
    build.child.kill('SIGTERM');

    expect((await build.exited).code).toBe(1);
    expect(build.matching(/^build: interrupted by SIGTERM: dist\/ is left as it was$/)).toHaveLength(1);
    expect(stampOf(dir)).toBe(before);
    expect(buildLeftovers(dir)).toEqual([]);
  }, 60_000);

  it('a build with a type error fails and leaves dist/ as it was', async () => {
    const dir = project();
    await succeeds(run(dir, 'build', 'initial'));
    const before = stampOf(dir);
    const main = () => readFileSync(join(dir, 'dist/src/main.js'), 'utf8');
    const built = main();
    writeFileSync(join(dir, 'src/main.ts'), "const word: number = 'not started';\nconsole.log(word);\n");

    const build = run(dir, 'build');
    expect((await build.exited).code).toBe(1);
    expect(build.matching(/error TS2322/)).not.toEqual([]);
    expect(build.matching(/^build: tsc failed \(2\): dist\/ is left as it was$/)).toHaveLength(1);
    expect(stampOf(dir)).toBe(before);
    expect(main()).toBe(built); // tsc emits despite errors: into the temporary folder, thrown away
    expect(buildLeftovers(dir)).toEqual([]);
  }, 60_000);
});

describe('a dist/ older than the sources', () => {
  it('is one warning line naming the changed file; the start goes on with it', async () => {
    const dir = project();
    await succeeds(run(dir, 'build'));
    const { startedAt } = JSON.parse(stampOf(dir)) as { startedAt: number };
    const later = new Date(startedAt + 2000);
    // a spec or a testing/ file is not built into dist/: changing it makes nothing stale
    writeFileSync(join(dir, 'src/main.spec.ts'), 'export {};\n');
    mkdirSync(join(dir, 'src/testing'));
    writeFileSync(join(dir, 'src/testing/helper.ts'), 'export {};\n');
    for (const file of ['src/main.spec.ts', 'src/testing/helper.ts'])
      utimesSync(join(dir, file), later, later);
    const fresh = run(dir, 'start', 'fresh');
    await succeeds(fresh);
    expect(fresh.lines).toEqual(['started']);

    utimesSync(join(dir, 'src/main.ts'), later, later);
    const stale = run(dir, 'start', 'stale');
    await succeeds(stale);
    // the warning on stderr, the program's line on stdout: their order between the pipes may vary
    expect([...stale.lines].sort()).toEqual([
      'Warning: dist/ is older than the sources (src/main.ts changed after the last build): ' +
        'this runs the old build; run npm run build, or npm run dev to run the sources',
      'started',
    ]);
    expect(existsSync(join(dir, '.dist.lock'))).toBe(false);
  }, 60_000);
});

/** Resolves once `build` holds the lock (its tsc is running). */
async function waitForLock(dir: string, build: Proc): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!existsSync(join(dir, '.dist.lock'))) {
    if (!build.running || Date.now() > deadline) throw new Error(`no lock:\n${build.tail()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
