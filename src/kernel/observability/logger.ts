import { pino } from 'pino';
import { currentContext } from '../messaging/context.js';

export type Logger = pino.Logger;

/** The root logger. Every line carries the correlation id of the work in progress, when known. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    mixin() {
      const ctx = currentContext();
      return ctx ? { correlationid: ctx.correlationId } : {};
    },
  });
}
