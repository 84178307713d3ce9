import type { Db } from '../../kernel/index.js';
import type { AccountEvent } from './account.js';
import { loadAccount, readStream } from './event-store.js';

export interface Balance {
  readonly balanceCents: number;
  readonly version: number;
}

export type EventView = AccountEvent & { readonly version: number; readonly occurredAt: string };

/** The balance now, or as of `at` (epoch ms: the events that occurred at or before it). */
export function balanceOf(db: Db, userId: string, at?: number): Balance {
  const { balanceCents, version } = loadAccount(db, userId, at);
  return { balanceCents, version };
}

/** The account's stream, oldest first. */
export function eventsOf(db: Db, userId: string): EventView[] {
  return readStream(db, userId).map(
    (event) => ({ ...event, occurredAt: new Date(event.occurredAt).toISOString() }) as EventView,
  );
}
