/**
 * Throw-away projects for the start specs: a copy of this project (sources, scripts, migrations,
 * its dist/ when fresh) whose dist/ a spec may go stale or replace without touching the checkout,
 * and a tiny TypeScript project with the same build and start scripts, whose build takes a second.
 */
import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newerSource, readStamp } from '../../scripts/build.mjs';
import { PROJECT_ROOT, Proc } from '../split/cluster.js';

export { PROJECT_ROOT, Proc };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `args` with node in `cwd`, with `env` over this process's environment. */
export function runNode(
  name: string,
  cwd: string,
  args: readonly string[],
  env: Record<string, string> = {},
) {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Proc(name, child);
}

/** Resolves with the first output line matching `pattern`; rejects when the process exits first. */
export async function waitForLine(proc: Proc, pattern: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [line] = proc.matching(pattern);
    if (line !== undefined) return line;
    if (!proc.running) throw new Error(`${proc.name} exited before printing ${pattern}:\n${proc.tail()}`);
    await sleep(20);
  }
  throw new Error(`${proc.name} printed no ${pattern} in ${timeoutMs} ms:\n${proc.tail()}`);
}

/** Whether this project's own dist/ was built by scripts/build.mjs from the sources as they are. */
function distIsFresh(): boolean {
  const stamp = readStamp(PROJECT_ROOT);
  return stamp !== undefined && newerSource(PROJECT_ROOT, stamp.startedAt) === undefined;
}

/** Builds this checkout's dist/ (`node scripts/build.mjs`) unless it is fresh. */
export async function freshDist(): Promise<void> {
  if (distIsFresh()) return;
  const build = runNode('build', PROJECT_ROOT, ['scripts/build.mjs']);
  const exit = await build.exited;
  if (exit.code !== 0) throw new Error(`build failed: ${JSON.stringify(exit)}\n${build.tail()}`);
}

/**
 * A copy of this project in a temporary folder (timestamps kept, so a copied dist/ stays fresh),
 * sharing its node_modules. Its dist/ is this checkout's when fresh (CI's `npm ci` built it), else
 * it is built here (about 15 s).
 */
export async function copyOfProject(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'first-run-'));
  const entries = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'scripts', 'migrations'];
  const copied = distIsFresh() ? [...entries, 'dist'] : entries;
  for (const entry of copied) {
    cpSync(join(PROJECT_ROOT, entry), join(dir, entry), { recursive: true, preserveTimestamps: true });
  }
  symlinkSync(realpathSync(join(PROJECT_ROOT, 'node_modules')), join(dir, 'node_modules'));
  if (!copied.includes('dist')) {
    const build = runNode('build', dir, ['scripts/build.mjs']);
    const exit = await build.exited;
    if (exit.code !== 0) throw new Error(`build failed: ${JSON.stringify(exit)}\n${build.tail()}`);
  }
  return dir;
}

/**
 * A tiny project with this project's build and start scripts: `src/main.ts` prints "started";
 * its build (tsc) takes about a second.
 */
export function tinyProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'build-lock-'));
  mkdirSync(join(dir, 'scripts'));
  mkdirSync(join(dir, 'src'));
  for (const script of ['build.mjs', 'start.mjs']) {
    cpSync(join(PROJECT_ROOT, 'scripts', script), join(dir, 'scripts', script));
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'tiny', private: true, type: 'module' }));
  const compilerOptions = {
    target: 'ES2023',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    skipLibCheck: true,
    types: [],
    rootDir: '.',
    outDir: 'dist',
  };
  writeFileSync(join(dir, 'tsconfig.build.json'), JSON.stringify({ compilerOptions, include: ['src'] }));
  writeFileSync(join(dir, 'src/main.ts'), "const word: string = 'started';\nconsole.log(word);\n");
  symlinkSync(realpathSync(join(PROJECT_ROOT, 'node_modules')), join(dir, 'node_modules'));
  return dir;
}

/** What a build may leave in a project's folder besides dist/: nothing once it is over. */
export function buildLeftovers(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.startsWith('.dist'));
}

/**
 * Checks, every few milliseconds until `until` settles, that dist/ is either missing or whole (its
 * stamp and main.js both there): what a start that looks at any moment finds.
 */
export async function watchDistWhole(dir: string, until: Promise<unknown>): Promise<string[]> {
  const broken: string[] = [];
  let done = false;
  void until.finally(() => {
    done = true;
  });
  while (!done) {
    const dist = join(dir, 'dist');
    if (existsSync(dist)) {
      for (const file of ['.build-stamp.json', 'src/main.js']) {
        // checked again after a miss: dist/ may have been swapped between the two looks
        if (!existsSync(join(dist, file)) && existsSync(dist) && !existsSync(join(dist, file))) {
          broken.push(`${file} missing at ${Date.now()}`);
        }
      }
    }
    await sleep(5);
  }
  return broken;
}
