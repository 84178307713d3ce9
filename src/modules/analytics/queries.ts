import { eq, sql } from 'drizzle-orm';
import { type Db, preparedOnce } from '../../kernel/index.js';
import { EMPTY_SUMMARY, type Summary } from './projection.js';
import { analyticsSummary } from './schema.js';

const SUMMARY_ID = 1;

const selectSummary = (db: Db) =>
  db.select().from(analyticsSummary).where(eq(analyticsSummary.id, SUMMARY_ID)).prepare();

/** Every summary field as a placeholder named after it. */
const summaryPlaceholders = Object.fromEntries(
  Object.keys(EMPTY_SUMMARY).map((field) => [field, sql.placeholder(field)]),
) as unknown as Summary;

const upsertSummary = (db: Db) =>
  db
    .insert(analyticsSummary)
    .values({ id: SUMMARY_ID, ...summaryPlaceholders })
    .onConflictDoUpdate({ target: analyticsSummary.id, set: summaryPlaceholders })
    .prepare();

export function readSummary(db: Db): Summary {
  const row = preparedOnce(db, selectSummary).get();
  if (!row) return EMPTY_SUMMARY;
  const { id: _id, ...summary } = row;
  return summary;
}

/** Replaces the summary row (call inside a transaction). */
export function writeSummary(db: Db, summary: Summary): void {
  preparedOnce(db, upsertSummary).run({ ...summary });
}
