import { eq, type Placeholder, type SQL, sql } from 'drizzle-orm';
import { type Db, preparedOnce } from '../../kernel/index.js';
import { EMPTY_SUMMARY, type Summary } from './projection.js';
import { analyticsSummary } from './schema.js';

const SUMMARY_ID = 1;

const selectSummary = (db: Db) =>
  db.select().from(analyticsSummary).where(eq(analyticsSummary.id, SUMMARY_ID));

const SUMMARY_FIELDS = Object.keys(EMPTY_SUMMARY) as (keyof Summary)[];
/** Every summary field as a placeholder named after it (the values of the upsert). */
const fieldPlaceholders = Object.fromEntries(
  SUMMARY_FIELDS.map((field) => [field, sql.placeholder(field)]),
) as Record<keyof Summary, Placeholder>;
/** Every summary field taken from the row the upsert tried to insert. */
const fromExcluded = Object.fromEntries(
  SUMMARY_FIELDS.map((field) => [field, sql`excluded.${sql.identifier(analyticsSummary[field].name)}`]),
) as Record<keyof Summary, SQL>;

const upsertSummary = (db: Db) =>
  db
    .insert(analyticsSummary)
    .values({ id: SUMMARY_ID, ...fieldPlaceholders })
    .onConflictDoUpdate({ target: analyticsSummary.id, set: fromExcluded });

export async function readSummary(db: Db): Promise<Summary> {
  const row = await preparedOnce(db, selectSummary).one();
  if (!row) return EMPTY_SUMMARY;
  const { id: _id, ...summary } = row;
  return summary;
}

/** Replaces the summary row (call inside a transaction). */
export async function writeSummary(db: Db, summary: Summary): Promise<void> {
  await preparedOnce(db, upsertSummary).exec({ ...summary });
}
