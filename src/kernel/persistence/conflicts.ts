import { sleep } from '../time.js';

/**
 * Thrown by code inside a transaction that finds another writer got there first (a stale
 * version): the transaction is rolled back and run again, and the new run reads what the other
 * wrote. Module errors of that kind extend it (payments' ConcurrencyConflictError).
 */
export class WriteConflictError extends Error {
  override readonly name: string = 'WriteConflictError';
}

/**
 * PostgreSQL's own write conflicts: serialization failure, deadlock, and a unique key another
 * transaction inserted meanwhile (check-then-insert code finds the row on its next run and answers
 * as it would have, had it run second).
 */
const CONFLICT_SQLSTATES = new Set(['40001', '40P01', '23505']);

export function isWriteConflict(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 3; depth++) {
    if (current instanceof WriteConflictError) return true;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && CONFLICT_SQLSTATES.has(code)) return true;
    current = current.cause; // drizzle wraps the driver's error
  }
  return false;
}

/** Runs of one transaction before its write conflict is the caller's. */
export const WRITE_CONFLICT_ATTEMPTS = 10;

/**
 * Runs `attempt` (one whole transaction) again while it fails on a write conflict, after a short
 * random pause (a few ms, doubling, at most 50 ms) so that the writers that collided do not
 * collide again; the last failure is rethrown.
 */
export async function retryingWriteConflicts<T>(attempt: () => Promise<T>): Promise<T> {
  for (let run = 1; ; run++) {
    try {
      return await attempt();
    } catch (error) {
      if (run >= WRITE_CONFLICT_ATTEMPTS || !isWriteConflict(error)) throw error;
      await sleep(Math.random() * Math.min(50, 2 ** run));
    }
  }
}
