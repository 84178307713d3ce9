/**
 * Starts a kernel without modules on the transport `env` configures, as a process does at start
 * (loadConfig, createTransport, Kernel.start), and reports how it went: for specs of what start
 * does when the broker is away or refuses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../config.js';
import type { Env } from '../env-readers.js';
import { createTransport } from '../messaging/transports/index.js';
import { Kernel } from '../modules/kernel.js';

export interface StartAttempt {
  /** What start threw, or undefined when it started (the kernel is stopped again either way). */
  readonly error: unknown;
  readonly elapsedMs: number;
  /** Every log line, parsed. */
  readonly lines: readonly LogLine[];
}

type LogLine = { readonly level: number; readonly msg: string };

/** A logger at info level that keeps its lines, parsed. */
export function capturingLogger(): { log: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

export async function attemptStart(env: Env, brokerWaitMs?: number): Promise<StartAttempt> {
  const dataDir = mkdtempSync(join(tmpdir(), 'start-attempt-'));
  const { log, lines } = capturingLogger();
  try {
    const config = loadConfig({ DATA_DIR: dataDir, JWT_SECRET: 'x'.repeat(32), ...env }, []);
    const transport = await createTransport(config, log);
    const kernel = new Kernel({
      config,
      modules: [],
      transport,
      log,
      ...(brokerWaitMs ? { brokerWaitMs } : {}),
    });
    const startedAt = Date.now();
    const error = await kernel.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsedMs = Date.now() - startedAt;
    await kernel.stop();
    return { error, elapsedMs, lines };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
