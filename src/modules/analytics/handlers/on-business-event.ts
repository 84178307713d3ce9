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
    .prepare();

/**
 * Every order and payment event → appended to the module's own event log and folded into the
 * read models, in one transaction. An event already in the log changes nothing.
 */
export async function onBusinessEvent(message: Envelope, handlerCtx: HandlerContext): Promise<void> {
  await handlerCtx.transact((tx) => {
    const appended = preparedOnce(tx.db, appendToLog).run({
      eventId: message.id,
      type: message.type,
      schemaVersion: message.schemaversion,
      time: message.time,
      data: message.data,
      recordedAt: Date.now(),
    });
    if (appended.changes === 0) return;
    writeSummary(tx.db, project(readSummary(tx.db), message));
  });
}
