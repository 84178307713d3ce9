import { eq } from 'drizzle-orm';
import type { Db } from '../../kernel/index.js';
import { EMPTY_SUMMARY, type Summary } from './projection.js';
import { analyticsSummary } from './schema.js';

const SUMMARY_ID = 1;

export function readSummary(db: Db): Summary {
  const row = db.select().from(analyticsSummary).where(eq(analyticsSummary.id, SUMMARY_ID)).get();
  if (!row) return EMPTY_SUMMARY;
  const { id: _id, ...summary } = row;
  return summary;
}

/** Replaces the summary row (call inside a transaction). */
export function writeSummary(db: Db, summary: Summary): void {
  db.insert(analyticsSummary)
    .values({ id: SUMMARY_ID, ...summary })
    .onConflictDoUpdate({ target: analyticsSummary.id, set: summary })
    .run();
}
