import { asc, gt } from 'drizzle-orm';
import type { ModuleContext, Tx } from '../../../kernel/index.js';
import { EMPTY_SUMMARY, project, type Summary } from '../projection.js';
import { writeSummary } from '../queries.js';
import { analyticsEventLog, analyticsSummary } from '../schema.js';

const PAGE = 1000;

/** Folds the whole event log, oldest first, a page at a time. */
async function replayLog(tx: Tx): Promise<Summary> {
  let summary = EMPTY_SUMMARY;
  for (let after = 0; ; ) {
    const page = await tx.db
      .select({ seq: analyticsEventLog.seq, type: analyticsEventLog.type, data: analyticsEventLog.data })
      .from(analyticsEventLog)
      .where(gt(analyticsEventLog.seq, after))
      .orderBy(asc(analyticsEventLog.seq))
      .limit(PAGE);
    for (const event of page) summary = project(summary, event);
    const last = page.at(-1);
    if (!last || page.length < PAGE) return summary;
    after = last.seq;
  }
}

/**
 * Clears the read models and replays the module's event log into them in one transaction:
 * readers see the old model or the rebuilt one, never a half-built one.
 */
export async function rebuildReadModels(ctx: ModuleContext): Promise<Summary> {
  return await ctx.transact(async (tx) => {
    await tx.db.delete(analyticsSummary);
    const summary = await replayLog(tx);
    await writeSummary(tx.db, summary);
    return summary;
  });
}
