import { type Db, keyset, mapPage, type Page, type PageRequest } from '../../kernel/index.js';
import type { AccountEvent } from './account.js';
import { loadAccount, readStream } from './event-store.js';

export interface Balance {
  readonly balanceCents: number;
  readonly version: number;
}

export type EventView = AccountEvent & { readonly version: number; readonly occurredAt: string };

/** The balance now, or as of `at` (epoch ms: the events that occurred at or before it). */
export async function balanceOf(db: Db, userId: string, at?: number): Promise<Balance> {
  const { balanceCents, version } = await loadAccount(db, userId, at);
  return { balanceCents, version };
}

const eventPages = keyset('payments-account-events', ['integer']);

/** A page of the account's stream, oldest first (by version: the primary key). */
export async function eventsOf(db: Db, userId: string, request: PageRequest): Promise<Page<EventView>> {
  const page = await eventPages.page(
    request,
    async (after, take) => readStream(db, userId, { after: after?.[0] ?? 0, limit: take }),
    (event) => [event.version],
  );
  return mapPage(
    page,
    (event) => ({ ...event, occurredAt: new Date(event.occurredAt).toISOString() }) as EventView,
  );
}
