/**
 * `npm run start:split`: the split deployment of deploy/split.json on this host. Starts every
 * process (each instance of each entry) with its MODULES and PORT, prefixes and colours each of
 * its log lines with its name, restarts a process that dies (with backoff), and on Ctrl-C or
 * SIGTERM stops them all and exits once they have.
 *
 *   tsx scripts/start-split.ts [--manifest deploy/split.json] [--runner dist|tsx] [--raw]
 *
 * --runner dist (default) runs `node dist/src/main.js` (`npm run start:split` first builds dist/
 * when it is missing, waits for a build in progress, and warns when it is older than the sources);
 * tsx runs the sources (`node --import tsx src/main.ts`). --raw prints the processes' JSON log
 * lines as they are. The manifest's `env` are defaults for every process; this shell's environment
 * overrides them; a process's own `env` overrides both. JWT_SECRET is shared: a random one is made
 * when unset.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatLine, type ProcessPlan, paint, parseManifest, planProcesses } from './split-manifest.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const STOP_TIMEOUT_MS = 20_000;
const BACKOFF_MS = { initial: 1000, max: 30_000, stableAfter: 30_000 };
/**
 * A process that exits with code 1 this soon after its start, this many times in a row, is
 * misconfigured. 15 s leaves room for a slow start on a loaded machine. A broker outage is no such
 * exit: a process whose broker is away serves and waits for it, for as long as it lasts.
 */
const FAST_FAILURE = { withinMs: 15_000, times: 5 };

const { values: args } = parseArgs({
  options: {
    manifest: { type: 'string', default: join(ROOT, 'deploy/split.json') },
    runner: { type: 'string', default: 'dist' },
    raw: { type: 'boolean', default: false },
  },
});
const colours =
  process.env.NO_COLOR === undefined && (process.stdout.isTTY || process.env.FORCE_COLOR !== undefined);
const say = (line: string) => process.stdout.write(`${paint('[split]', 'split', colours)} ${line}\n`);

function fail(message: string): never {
  process.stderr.write(`[split] ${message}\n`);
  process.exit(1);
}

function command(runner: string): string[] {
  if (runner === 'tsx') return ['--import', 'tsx', join(ROOT, 'src/main.ts')];
  if (runner !== 'dist') fail(`--runner must be dist or tsx (got "${runner}")`);
  const main = join(ROOT, 'dist/src/main.js');
  if (!existsSync(main)) fail(`${main} is missing: run npm run build first (or use --runner tsx)`);
  return [main];
}

try {
  process.loadEnvFile(join(ROOT, '.env'));
} catch (error) {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}
let plans: ProcessPlan[];
try {
  plans = planProcesses(parseManifest(JSON.parse(readFileSync(args.manifest, 'utf8'))), process.env);
} catch (error) {
  fail(`${args.manifest}: ${error instanceof Error ? error.message : String(error)}`);
}
const argv = command(args.runner);
if (!process.env.JWT_SECRET) {
  const secret = randomBytes(32).toString('base64url');
  for (const plan of plans) plan.env.JWT_SECRET ??= secret;
  say('JWT_SECRET is not set: one random secret for every process (tokens will not survive a restart)');
}

interface Running {
  readonly plan: ProcessPlan;
  child: ChildProcess | undefined;
  startedAt: number;
  backoffMs: number;
  fastFailures: number;
  restartTimer: NodeJS.Timeout | undefined;
}

let stopping = false;
const running: Running[] = plans.map((plan) => ({
  plan,
  child: undefined,
  startedAt: 0,
  backoffMs: BACKOFF_MS.initial,
  fastFailures: 0,
  restartTimer: undefined,
}));

function start(entry: Running): void {
  const { plan } = entry;
  const child = spawn(process.execPath, argv, {
    cwd: ROOT,
    env: { ...process.env, ...plan.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  entry.child = child;
  entry.startedAt = Date.now();
  const prefix = paint(`[${plan.name}]`, plan.name, colours);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      process.stdout.write(`${prefix} ${args.raw ? line : formatLine(line)}\n`);
    });
  }
  say(`${plan.name} started (pid ${child.pid}): ${plan.env.MODULES} on port ${plan.env.PORT}`);
  child.once('exit', (code, signal) => onExit(entry, code, signal));
}

function onExit(entry: Running, code: number | null, signal: NodeJS.Signals | null): void {
  entry.child = undefined;
  const how = signal ? `signal ${signal}` : `code ${code}`;
  if (stopping) {
    say(`${entry.plan.name} stopped (${how})`);
    if (running.every((r) => r.child === undefined)) process.exit(exitCode);
    return;
  }
  const ranMs = Date.now() - entry.startedAt;
  if (ranMs >= BACKOFF_MS.stableAfter) entry.backoffMs = BACKOFF_MS.initial;
  entry.fastFailures = code === 1 && ranMs < FAST_FAILURE.withinMs ? entry.fastFailures + 1 : 0;
  if (entry.fastFailures >= FAST_FAILURE.times) {
    say(
      `${entry.plan.name} failed ${entry.fastFailures} times right at start (a configuration error?): stopping everything`,
    );
    stopAll(1);
    return;
  }
  say(
    `${entry.plan.name} exited (${how}) after ${Math.round(ranMs / 1000)} s; restarting in ${entry.backoffMs / 1000} s`,
  );
  entry.restartTimer = setTimeout(() => {
    entry.restartTimer = undefined;
    if (!stopping) start(entry);
  }, entry.backoffMs);
  entry.backoffMs = Math.min(entry.backoffMs * 2, BACKOFF_MS.max);
}

let exitCode = 0;
function stopAll(code: number): void {
  exitCode = Math.max(exitCode, code);
  if (stopping) {
    say('stopping again: killing every process now');
    for (const entry of running) entry.child?.kill('SIGKILL');
    return;
  }
  stopping = true;
  say('stopping every process (SIGTERM)');
  for (const entry of running) {
    clearTimeout(entry.restartTimer);
    entry.child?.kill('SIGTERM');
  }
  if (running.every((r) => r.child === undefined)) process.exit(exitCode);
  setTimeout(() => {
    say(`still running after ${STOP_TIMEOUT_MS / 1000} s: killing them`);
    for (const entry of running) entry.child?.kill('SIGKILL');
  }, STOP_TIMEOUT_MS).unref();
}

process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
process.on('exit', () => {
  for (const entry of running) entry.child?.kill('SIGKILL'); // never leave orphans behind
});

say(`${plans.length} processes from ${args.manifest} (runner: ${args.runner}):`);
for (const plan of plans) say(`  ${plan.name.padEnd(14)} ${String(plan.env.MODULES).padEnd(28)} ${plan.url}`);
for (const entry of running) start(entry);
