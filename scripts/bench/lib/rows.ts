/** What a benchmark row is, how it runs, and how its outcome is recorded. */
import { formatMs, formatRate, withTimeout } from './stats.js';

export interface Measurement {
  /** Per second, in `unit` (for memory rows: megabytes, in `unit` 'MB'). */
  readonly value: number;
  readonly unit: string;
  readonly p50?: number;
  readonly p99?: number;
  /** A short remark shown in the table (counts, secondary figures). */
  readonly note?: string;
}

export type Outcome =
  | { readonly kind: 'ok'; readonly measurement: Measurement }
  | { readonly kind: 'skipped'; readonly reason: string }
  | { readonly kind: 'failed'; readonly reason: string };

export interface RowSpec {
  /** Stable id (the smoke test and the ratios refer to it). */
  readonly id: string;
  readonly section: string;
  readonly label: string;
  /** How the row is measured (BENCHMARKS.md "Method"). */
  readonly method: string;
  /** Raw rows this row is compared with (throughput ratio). */
  readonly against?: readonly string[];
  /** Lower is better (memory): the ratio is still row / raw. */
  readonly lowerIsBetter?: boolean;
  readonly timeoutMs: number;
  /** A reason not to run (broker away, transport not built), or undefined to run. */
  readonly skip?: () => Promise<string | undefined>;
  readonly run: () => Promise<Measurement>;
}

export interface Row {
  readonly spec: RowSpec;
  readonly outcome: Outcome;
  readonly seconds: number;
}

const started = performance.now();
const clock = () => {
  const s = Math.floor((performance.now() - started) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/** One progress line on stderr, with the time since the bench started. */
export function progress(line: string): void {
  process.stderr.write(`[bench ${clock()}] ${line}\n`);
}

export function describeOutcome(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'ok': {
      const m = outcome.measurement;
      const latency = m.p50 === undefined ? '' : `, p50 ${formatMs(m.p50)}, p99 ${formatMs(m.p99)}`;
      return `${m.unit === 'MB' ? m.value.toFixed(0) : formatRate(m.value)} ${m.unit}${latency}`;
    }
    case 'skipped':
      return `skipped: ${outcome.reason}`;
    case 'failed':
      return `FAILED: ${outcome.reason}`;
  }
}

/** Runs one row with its timeout; never throws (a failure is the row's outcome). */
export async function runRow(spec: RowSpec): Promise<Row> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  const skipReason = await spec.skip?.().catch((error: unknown) => `skip check failed: ${String(error)}`);
  if (skipReason !== undefined) {
    const outcome: Outcome = { kind: 'skipped', reason: skipReason };
    progress(`– ${spec.label}: ${describeOutcome(outcome)}`);
    return { spec, outcome, seconds: seconds() };
  }
  progress(`▶ ${spec.label}`);
  let outcome: Outcome;
  try {
    const measurement = await withTimeout(spec.run(), spec.timeoutMs, spec.label);
    outcome = { kind: 'ok', measurement };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    outcome = { kind: 'failed', reason: reason.split('\n')[0]?.slice(0, 300) ?? 'unknown error' };
  }
  progress(
    `${outcome.kind === 'ok' ? '✓' : '✗'} ${spec.label}: ${describeOutcome(outcome)} (${seconds().toFixed(1)} s)`,
  );
  return { spec, outcome, seconds: seconds() };
}
