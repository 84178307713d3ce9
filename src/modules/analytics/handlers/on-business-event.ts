import { sql } from 'drizzle-orm';
import { type Db, type Envelope, type HandlerContext, preparedOnce } from '../../../kernel/index.js';
import { project } from '../projection.js';
import { readSummary, writeSummary } from '../queries.js';
import { analyticsEventLog } from '../schema.js';

const appendToLog = (db: Db) =>
  db
    .insert(analyticsEventLog)
    .values({
      eventId: sql.placeholder('eventId'),
      type: sql.placeholder('type'),
      schemaVersion: sql.placeholder('schemaVersion'),
      time: sql.placeholder('time'),
      data: sql.placeholder('data'),
      recordedAt: sql.placeholder('recordedAt'),
    })
    .onConflictDoNothing()
    // The row appended, none for an event already in the log (the same on both backends).
    .returning({ seq: analyticsEventLog.seq });

/**
 * Every order and payment event → appended to the module's own event log and folded into the
 * read models, in one transaction. An event already in the log changes nothing.
 */
export async function onBusinessEvent(message: Envelope, handlerCtx: HandlerContext): Promise<void> {
  await handlerCtx.transact(async (tx) => {
    const appended = await preparedOnce(tx.db, appendToLog).one({
      eventId: message.id,
      type: message.type,
      schemaVersion: message.schemaversion,
      time: message.time,
      data: message.data,
      recordedAt: Date.now(),
    });
    if (appended === undefined) return;
    await writeSummary(tx.db, project(await readSummary(tx.db), message));
  });
}
