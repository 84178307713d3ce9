import { eq } from 'drizzle-orm';
import type { Db } from '../../kernel/index.js';
import type { Account } from './account.js';
import { paymentsSnapshots } from './schema.js';

/**
 * Events between snapshots. A replay costs per event, so without them a user with thousands of
 * orders would pay the whole history on every read of the account (quadratic time overall).
 */
export const SNAPSHOT_EVERY = 100;

/** The latest snapshot of the account, if it is not later than `until` (epoch ms) when given. */
export async function readSnapshot(db: Db, accountId: string, until?: number): Promise<Account | undefined> {
  const [row] = await db.select().from(paymentsSnapshots).where(eq(paymentsSnapshots.accountId, accountId));
  if (!row || (until !== undefined && row.occurredAt > until)) return undefined;
  return { id: accountId, balanceCents: row.balanceCents, version: row.version };
}

/** Saves a snapshot when the append from `before` to `after` crossed a multiple of SNAPSHOT_EVERY. */
export async function snapshotIfDue(
  db: Db,
  before: Account,
  after: Account,
  occurredAt: number,
): Promise<void> {
  if (Math.floor(after.version / SNAPSHOT_EVERY) === Math.floor(before.version / SNAPSHOT_EVERY)) return;
  const state = { version: after.version, balanceCents: after.balanceCents, occurredAt };
  await db
    .insert(paymentsSnapshots)
    .values({ accountId: after.id, ...state })
    .onConflictDoUpdate({ target: paymentsSnapshots.accountId, set: state });
}
