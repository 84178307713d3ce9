/** Command-line options of `npm run bench`. */
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export interface BenchOptions {
  /** Small counts: a smoke run for CI (well under 2 minutes). */
  readonly quick: boolean;
  /** Where the report goes (default BENCHMARKS.md at the project root). */
  readonly out: string;
  /** Only rows whose id matches (development aid); the others are left out of the report. */
  readonly only: RegExp | undefined;
  /** Run the app children with `--cpu-prof` into this directory. */
  readonly profileDir: string | undefined;
  /**
   * Run each fixed-rate phase this many seconds instead of 10, and report the app's heap after a
   * full GC before and after it: a leak shows as bytes kept per order.
   */
  readonly soakSeconds: number | undefined;
}

const USAGE = `usage: npm run bench -- [--quick] [--out <file>] [--only <regexp>] [--profile <dir>] [--soak <seconds>]`;

export function parseOptions(argv: readonly string[]): BenchOptions {
  let quick = false;
  let out = join(PROJECT_ROOT, 'BENCHMARKS.md');
  let only: RegExp | undefined;
  let profileDir: string | undefined;
  let soakSeconds: number | undefined;
  const resolve = (path: string) => (isAbsolute(path) ? path : join(process.cwd(), path));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return next;
    };
    if (arg === '--quick') quick = true;
    else if (arg === '--out') out = resolve(value());
    else if (arg === '--only') only = new RegExp(value());
    else if (arg === '--profile') profileDir = resolve(value());
    else if (arg === '--soak') {
      soakSeconds = Number(value());
      if (!Number.isInteger(soakSeconds) || soakSeconds < 1)
        throw new Error(`--soak takes whole seconds\n${USAGE}`);
    } else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${arg}\n${USAGE}`);
  }
  return { quick, out, only, profileDir, soakSeconds };
}

/** `full` in a full run, `quick` with --quick. */
export const scale = <T>(options: BenchOptions, full: T, quick: T): T => (options.quick ? quick : full);
