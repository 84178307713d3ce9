import { type Db, keyset, mapPage, type Page, type PageRequest } from '../../kernel/index.js';
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

const eventPages = keyset('payments-account-events', ['integer']);

/** A page of the account's stream, oldest first (by version: the primary key). */
export function eventsOf(db: Db, userId: string, request: PageRequest): Page<EventView> {
  const page = eventPages.page(
    request,
    (after, take) => readStream(db, userId, { after: after?.[0] ?? 0, limit: take }),
    (event: { readonly version: number }) => [event.version],
  );
  return mapPage(
    page,
    (event) => ({ ...event, occurredAt: new Date(event.occurredAt).toISOString() }) as EventView,
  );
}
