import type { Envelope, HandlerContext } from '../../../kernel/index.js';
import { project } from '../projection.js';
import { readSummary, writeSummary } from '../queries.js';
import { analyticsEventLog } from '../schema.js';

/**
 * Every order and payment event → appended to the module's own event log and folded into the
 * read models, in one transaction. An event already in the log changes nothing.
 */
export function onBusinessEvent(message: Envelope, handlerCtx: HandlerContext): void {
  handlerCtx.transact((tx) => {
    const appended = tx.db
      .insert(analyticsEventLog)
      .values({
        eventId: message.id,
        type: message.type,
        schemaVersion: message.schemaversion,
        time: message.time,
        data: message.data,
        recordedAt: Date.now(),
      })
      .onConflictDoNothing()
      .run();
    if (appended.changes === 0) return;
    writeSummary(tx.db, project(readSummary(tx.db), message));
  });
}
