#!/usr/bin/env node
/**
 * The build (`npm run build`, and `npm ci` through `prepare`): `tsc -p tsconfig.build.json` into a
 * temporary folder beside dist/, stamped, then renamed into place, under a lock file. So dist/ is
 * never half written: several processes started at once from one checkout either find a whole
 * dist/ or wait for the one build in progress (measured before this: five `npm start` rebuilt
 * dist/ together and one of them loaded a half-written file and died).
 *
 *   node scripts/build.mjs              build now (after the build in progress, if any)
 *   node scripts/build.mjs --prepare    the same, skipped where there is nothing to build: no src/
 *                                       (the Dockerfile's dependency layer) or no TypeScript
 *                                       (an install without devDependencies)
 *   node scripts/build.mjs --if-needed  what a start does: wait for a build in progress, build when
 *                                       dist/ is missing, warn (one line) when it is older than src/
 *
 * Plain JavaScript on purpose: it runs before anything is compiled, and `npm start` must not pay
 * for a TypeScript loader. Its types are in build.d.mts.
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const DIST = 'dist';
/** Written into dist/ by the build: when it started, to compare with the sources' mtimes. */
export const STAMP = '.build-stamp.json';
const LOCK = '.dist.lock';
const TEMP_PREFIX = '.dist-build-';
const OLD_PREFIX = '.dist-old-';
/** Inputs of the build besides src/: a change to them makes dist/ stale too. */
const CONFIG_FILES = ['tsconfig.json', 'tsconfig.build.json'];
const POLL_MS = 100;
/** How long a start waits for someone else's build (a cold build on a busy machine takes ~1 min). */
const WAIT_MS = 10 * 60_000;
/** A lock older than this is left over (a build never takes so long; the pid may have been reused). */
const LOCK_MAX_AGE_MS = 15 * 60_000;

export class BuildError extends Error {
  name = 'BuildError';
}

/** @param {string} line */
const say = (line) => process.stderr.write(`${line}\n`);

/**
 * The build's stamp in `root`/dist, or undefined when dist/ is missing or was not built by this
 * script (a bare `tsc`): then a start builds it once.
 * @param {string} root
 * @returns {{ startedAt: number } | undefined}
 */
export function readStamp(root) {
  try {
    const stamp = JSON.parse(readFileSync(join(root, DIST, STAMP), 'utf8'));
    return typeof stamp?.startedAt === 'number' ? { startedAt: stamp.startedAt } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The first input of the build (relative path) changed after `since` (ms), or undefined. Specs and
 * testing/ folders are skipped: tsconfig.build.json leaves them out of dist/, so editing a test does
 * not make the build stale.
 * @param {string} root
 * @param {number} since
 * @returns {string | undefined}
 */
export function newerSource(root, since) {
  for (const file of CONFIG_FILES) {
    if (mtimeOf(join(root, file)) > since) return file;
  }
  return newerIn(root, join(root, 'src'), since);
}

/** @param {string} path */
function mtimeOf(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * @param {string} root
 * @param {string} dir
 * @param {number} since
 * @returns {string | undefined}
 */
function newerIn(root, dir, since) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'testing') continue;
      const found = newerIn(root, path, since);
      if (found) return found;
    } else if (!entry.name.endsWith('.spec.ts') && mtimeOf(path) > since) {
      return relative(root, path).split(sep).join('/');
    }
  }
  return undefined;
}

/**
 * @typedef {{ pid: number, startedAt: number }} Holder
 * @param {string} lock
 * @returns {Holder | 'unreadable' | undefined} undefined when there is no lock
 */
function readHolder(lock) {
  let text;
  try {
    text = readFileSync(lock, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const holder = JSON.parse(text);
    return typeof holder?.pid === 'number' && typeof holder?.startedAt === 'number' ? holder : 'unreadable';
  } catch {
    return 'unreadable'; // created a moment ago and not yet written, or damaged
  }
}

/** @param {number} pid */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return /** @type {NodeJS.ErrnoException} */ (error).code === 'EPERM'; // alive, someone else's
  }
}

/**
 * A lock whose build cannot still be running: its process is gone, or it is far too old.
 * @param {string} lock
 * @param {Holder | 'unreadable'} holder
 */
function isLeftOver(lock, holder) {
  if (holder === 'unreadable') return Date.now() - mtimeOf(lock) > 10_000;
  return !isAlive(holder.pid) || Date.now() - holder.startedAt > LOCK_MAX_AGE_MS;
}

/**
 * Removes a left-over lock. It is first renamed to a name of our own, so that of several processes
 * finding the same left-over lock only one removes it; if what we took turns out to be a live
 * lock made since we looked, it is put back.
 * @param {string} lock
 */
function breakLeftOver(lock) {
  const taken = `${lock}.${process.pid}`;
  try {
    renameSync(lock, taken);
  } catch {
    return; // someone else took it
  }
  const holder = readHolder(taken);
  if (holder !== undefined && !isLeftOver(taken, holder)) {
    try {
      renameSync(taken, lock);
      return;
    } catch {
      // a lock was made meanwhile: the live one we took is dropped below (both builds are atomic)
    }
  }
  rmSync(taken, { force: true });
}

/**
 * Creates the lock file, or returns false when it exists.
 * @param {string} lock
 */
function tryLock(lock) {
  try {
    writeFileSync(lock, JSON.stringify({ pid: process.pid, startedAt: Date.now() }), { flag: 'wx' });
    return true;
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * A build of this process: the signal that interrupted it, if any, and the tsc it runs.
 * @typedef {{ signal: NodeJS.Signals | undefined, child: import('node:child_process').ChildProcess | undefined }} Run
 */

/** @param {Run} run */
function throwIfInterrupted(run) {
  if (run.signal) throw new BuildError(`interrupted by ${run.signal}: dist/ is left as it was`);
}

/**
 * Waits while someone else's build holds the lock; with `run`, then takes the lock for it.
 * @param {string} root
 * @param {Run} [run]
 */
async function awaitLock(root, run) {
  const lock = join(root, LOCK);
  const deadline = Date.now() + WAIT_MS;
  let told = false;
  for (;;) {
    if (run) throwIfInterrupted(run);
    if (run && tryLock(lock)) return;
    const holder = readHolder(lock);
    if (holder === undefined) {
      if (!run) return;
      continue;
    }
    if (isLeftOver(lock, holder)) {
      breakLeftOver(lock);
      continue;
    }
    if (!told) {
      const pid = holder === 'unreadable' ? '' : ` (pid ${holder.pid})`;
      say(`build: waiting for the build in progress${pid}…`);
      told = true;
    }
    if (Date.now() > deadline) {
      throw new BuildError(`the build in progress (${LOCK}) did not finish in ${WAIT_MS / 60_000} min`);
    }
    await sleep(POLL_MS);
  }
}

/**
 * Runs `work` holding the lock. Ctrl-C or SIGTERM from the moment the lock may be taken stops tsc,
 * and the `finally`s remove the half-built folder and the lock: nothing is left for the next start
 * to trip over, and dist/ stays as it was.
 * @template T
 * @param {string} root
 * @param {(run: Run) => Promise<T>} work
 * @returns {Promise<T>}
 */
async function underLock(root, work) {
  /** @type {Run} */
  const run = { signal: undefined, child: undefined };
  /** @param {NodeJS.Signals} signal */
  const stop = (signal) => {
    run.signal = signal;
    run.child?.kill(signal);
  };
  process.on('SIGINT', stop).on('SIGTERM', stop);
  try {
    await awaitLock(root, run);
    try {
      const result = await work(run);
      throwIfInterrupted(run); // asked to stop while the build was put in place: stop now
      return result;
    } finally {
      rmSync(join(root, LOCK), { force: true });
    }
  } finally {
    process.off('SIGINT', stop).off('SIGTERM', stop);
  }
}

/**
 * The TypeScript compiler of `root`'s own dependencies, or undefined when it is not installed.
 * @param {string} root
 */
export function tscOf(root) {
  try {
    const manifest = createRequire(join(root, 'package.json')).resolve('typescript/package.json');
    return join(dirname(manifest), 'bin', 'tsc');
  } catch {
    return undefined;
  }
}

/**
 * @param {string} root
 * @param {string} outDir
 * @param {Run} run
 */
async function compile(root, outDir, run) {
  const tsc = tscOf(root);
  if (!tsc) throw new BuildError('typescript is not installed: run npm ci first');
  throwIfInterrupted(run);
  const child = spawn(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  run.child = child;
  const code = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode, signal) => resolve(exitCode ?? signal));
  }).finally(() => {
    run.child = undefined;
  });
  throwIfInterrupted(run);
  if (code !== 0) throw new BuildError(`tsc failed (${code}): dist/ is left as it was`);
}

/**
 * Removes what an interrupted build left behind. Called under the lock: no build is running.
 * @param {string} root
 */
function removeLeftovers(root) {
  for (const name of readdirSync(root)) {
    if (name.startsWith(TEMP_PREFIX) || name.startsWith(OLD_PREFIX)) {
      rmSync(join(root, name), { recursive: true, force: true });
    }
  }
}

/**
 * Puts the finished build in place: two renames, so dist/ is missing for an instant at most and
 * never partial (a start that looks then finds the lock and waits).
 * @param {string} root
 * @param {string} built
 */
function swapIntoPlace(root, built) {
  const dist = join(root, DIST);
  const old = join(root, `${OLD_PREFIX}${process.pid}`);
  try {
    renameSync(dist, old);
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'ENOENT') throw error;
  }
  renameSync(built, dist);
  rmSync(old, { recursive: true, force: true });
}

/**
 * Compiles into a temporary folder, stamps it, and puts it in place. Called under the lock.
 * @param {string} root
 * @param {Run} run
 */
async function buildLocked(root, run) {
  removeLeftovers(root);
  const startedAt = Date.now();
  const temp = join(root, `${TEMP_PREFIX}${process.pid}`);
  try {
    await compile(root, temp, run);
    writeFileSync(join(temp, STAMP), `${JSON.stringify({ startedAt, finishedAt: Date.now() })}\n`);
    swapIntoPlace(root, temp);
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  say(`build: dist/ built in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
}

/**
 * Builds `root`/dist atomically, after any build in progress.
 * @param {string} root
 */
export async function build(root) {
  await underLock(root, (run) => buildLocked(root, run));
}

/**
 * What a start does before loading dist/: waits for a build in progress; builds once when dist/ is
 * missing (several starts at once build it once: the first takes the lock, the others wait and
 * then find it built); says in one line when dist/ is older than the sources, without rebuilding
 * (a start stays fast; `npm run build` or `npm run dev` is the user's choice).
 * @param {string} root
 */
export async function ensureBuilt(root) {
  await awaitLock(root);
  const stamp = readStamp(root);
  if (!stamp) {
    await underLock(root, async (run) => {
      if (readStamp(root)) return; // built by the start that held the lock before us
      const what = existsSync(join(root, DIST))
        ? 'has no build stamp (not built by npm run build)'
        : 'is missing';
      say(`build: dist/ ${what}: building it once (npm run build)…`);
      await buildLocked(root, run);
    });
    return;
  }
  const newer = newerSource(root, stamp.startedAt);
  if (newer) {
    say(
      `Warning: dist/ is older than the sources (${newer} changed after the last build): ` +
        'this runs the old build; run npm run build, or npm run dev to run the sources',
    );
  }
}

/**
 * `--prepare`: nothing to build without sources (the Dockerfile installs dependencies before it
 * copies them) or without TypeScript (an install without devDependencies).
 * @param {string} root
 */
function prepareSkipReason(root) {
  if (!existsSync(join(root, 'src'))) return 'no src/ here';
  if (!tscOf(root)) return 'typescript is not installed';
  return undefined;
}

/** @param {readonly string[]} args */
async function cli(args) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  if (args.includes('--if-needed')) return ensureBuilt(root);
  if (args.includes('--prepare')) {
    const reason = prepareSkipReason(root);
    if (reason) return say(`build: skipped (${reason})`);
  }
  return build(root);
}

/** Run as a program (not imported by the start launcher or a spec). */
function isMain() {
  const entry = process.argv[1];
  return entry !== undefined && realpathSync(entry) === fileURLToPath(import.meta.url);
}

if (isMain()) {
  cli(process.argv.slice(2)).catch((error) => {
    say(`build: ${error instanceof BuildError ? error.message : (error?.stack ?? error)}`);
    process.exit(1);
  });
}
