import { pino } from 'pino';
import PinoPretty from 'pino-pretty';
import { currentContext } from '../messaging/context.js';
import { logFieldsOf } from './tracing.js';

export type Logger = pino.Logger;

export interface LoggerOptions {
  /** Human-readable lines (pino-pretty) instead of JSON: for a person at a terminal. */
  readonly pretty?: boolean;
  /** Where lines go (default: stdout); specs read them from a stream of their own. */
  readonly destination?: NodeJS.WritableStream;
}

/**
 * Pretty lines for a person: stdout is a terminal and this is not production. Piped output (a log
 * shipper, a supervisor, a test) and production keep one JSON object per line.
 */
export function wantsPrettyLogs(nodeEnv: string, stdout: { readonly isTTY?: boolean }): boolean {
  return stdout.isTTY === true && nodeEnv !== 'production';
}

/**
 * Formats in this process, synchronously (not in a transport's worker thread): a start stays fast,
 * and the last lines before an exit are written. One line per entry, its fields as compact JSON
 * after the message, so a screen holds more than a few entries. Colours follow the terminal (and
 * NO_COLOR / FORCE_COLOR).
 */
function prettyStream(destination: NodeJS.WritableStream | undefined): PinoPretty.PrettyStream {
  return PinoPretty({
    ...(destination ? { destination } : {}),
    sync: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
  });
}

/**
 * The root logger. Every line carries the correlation id of the work in progress, when known, and
 * the ids of its span (`trace_id`, `span_id`) when it is traced (messaging/context.ts).
 */
export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  const settings: pino.LoggerOptions = {
    level,
    mixin() {
      const ctx = currentContext();
      if (!ctx) return {};
      const span = logFieldsOf(ctx.trace);
      return span ? { correlationid: ctx.correlationId, ...span } : { correlationid: ctx.correlationId };
    },
  };
  const { pretty, destination } = options;
  if (pretty) return pino(settings, prettyStream(destination));
  return destination ? pino(settings, destination) : pino(settings);
}
