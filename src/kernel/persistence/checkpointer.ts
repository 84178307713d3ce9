import { Worker } from 'node:worker_threads';
import type { Logger } from '../observability/logger.js';
import type { ModuleDatabase } from './db.js';

export interface CheckpointerOptions {
  /** How often each WAL is copied back into its database file (default 250 ms). */
  readonly everyMs: number;
  /** WAL size, in pages, from which the WAL is also restarted (default 4096: 16 MiB of 4 KiB pages). */
  readonly restartAtPages: number;
}

const DEFAULT_OPTIONS: CheckpointerOptions = { everyMs: 250, restartAtPages: 4096 };

/**
 * The worker's code (a plain script: it runs the same under tsx, in dist/ and in the bench build).
 * Its own connection per database. A PASSIVE checkpoint never waits for readers or writers, and a
 * busy or failed one is simply tried again on the next tick. But under steady writes a PASSIVE
 * checkpoint never catches up with the last frame, and SQLite only rewinds a WAL that is wholly
 * copied: the file grew without end under the e2e benchmark (scripts/bench/findings.md). So once the WAL is past
 * \`restartAtPages\`, a RESTART follows the PASSIVE one: it copies the few frames written since,
 * and the next commit starts the WAL over. A RESTART keeps writers out while it runs (readers
 * go on); its busy timeout is short, and a busy one is tried again on the next tick.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require('node:module').createRequire(workerData.base)('better-sqlite3');
const databases = new Map();
parentPort.on('message', (message) => {
  if (message.add && !databases.has(message.add)) {
    const db = new Database(message.add, { fileMustExist: true });
    db.pragma('busy_timeout = 50');
    databases.set(message.add, db);
  }
  if (message.stop) {
    clearInterval(timer);
    for (const db of databases.values()) db.close();
    parentPort.close();
  }
});
const timer = setInterval(() => {
  for (const db of databases.values()) {
    try {
      const [passive] = db.pragma('wal_checkpoint(PASSIVE)');
      if (passive && passive.log >= workerData.restartAtPages) db.pragma('wal_checkpoint(RESTART)');
    } catch {}
  }
}, workerData.everyMs);
`;

export interface Checkpointer {
  /** Stops the thread; resolves once its connections are closed. Idempotent. */
  close(): Promise<void>;
}

/** SQLite's default: a checkpoint in the commit that takes the WAL past this many pages. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;

/**
 * WAL checkpoints on a worker thread, off the event loop. SQLite's automatic checkpoint runs inside
 * the commit that crosses 1000 WAL pages and, with synchronous=NORMAL, is where the fsyncs happen:
 * the commits of the main thread paid several milliseconds once in a while (the kernel path's p99
 * before and after is in scripts/bench/findings.md). Durability is unchanged:
 * a checkpoint only moves committed pages from the WAL into the database file.
 * If the thread fails, the automatic checkpoints are turned back on.
 */
export function checkpointInBackground(
  databases: readonly ModuleDatabase[],
  log: Logger,
  options: Partial<CheckpointerOptions> = {},
): Checkpointer {
  // PostgreSQL checkpoints by itself: only the SQLite databases are this thread's.
  const files = databases.flatMap((database) => (database.dialect === 'sqlite' ? [database] : []));
  const autocheckpoint = (pages: number) => {
    for (const database of files)
      if (database.writer.open) database.writer.pragma(`wal_autocheckpoint = ${pages}`);
  };
  autocheckpoint(0);
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { base: import.meta.url, ...DEFAULT_OPTIONS, ...options },
  });
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let closing = false;
  worker.on('error', (error) => {
    log.warn({ err: error }, 'WAL checkpointer thread failed; SQLite checkpoints in the commits again');
    autocheckpoint(SQLITE_AUTOCHECKPOINT_PAGES);
  });
  for (const database of files) worker.postMessage({ add: database.file });
  return {
    close: async () => {
      if (closing) return exited;
      closing = true;
      worker.postMessage({ stop: true });
      const timer = setTimeout(() => void worker.terminate(), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
}
