import { ConfigError, type PostgresLocation, redactUrl } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { startWaits } from '../observability/start-waits.js';
import { sleep } from '../time.js';
import type { Durability, ModuleDatabase } from './db.js';
import { openMigratedDatabase } from './migrate.js';
import { migratePostgresModule } from './migrate-postgres.js';
import { openPostgresModuleDatabase, permanentPostgresError, transientPostgresError } from './postgres.js';

/** Where the configuration keeps module databases (Config's `dataDir`, `dbDurability`, `databases`). */
export interface DatabasePlacement {
  readonly dataDir: string;
  readonly dbDurability: Durability;
  readonly databases: Readonly<Record<string, PostgresLocation>>;
}

const RETRY_MS = 500;
const LOG_EVERY_MS = 5000;

/**
 * Opens a module's database where the configuration puts it, its schema brought up to date: the
 * module's schema in PostgreSQL when DATABASE_URL(_<MODULE>) names one, else `<module>.db` in
 * DATA_DIR. A PostgreSQL server that does not answer yet is waited for (a warning every 5 s naming
 * the server and its variable, and recorded in `startWaits` as `db:<module>` so that the port answers
 * meanwhile) until `signal` aborts; any other failure rejects, and a refusal no waiting mends (wrong
 * password, unknown user or database, missing privilege) rejects at once with a ConfigError naming
 * the variable.
 */
export async function openConfiguredDatabase(
  placement: DatabasePlacement,
  module: string,
  log: Logger,
  signal?: AbortSignal,
): Promise<ModuleDatabase> {
  const location = placement.databases[module];
  if (!location)
    return openMigratedDatabase(placement.dataDir, module, { durability: placement.dbDurability });
  const database = openPostgresModuleDatabase(location.url, module, { durability: placement.dbDurability });
  const startedAt = Date.now();
  let nextLog = startedAt + LOG_EVERY_MS;
  let warned = false;
  const check = `db:${module}`;
  try {
    for (;;) {
      try {
        await migratePostgresModule(database.pool, module);
        if (warned)
          log.info(`PostgreSQL at ${redactUrl(location.url)} answers after ${Date.now() - startedAt} ms`);
        return database;
      } catch (error) {
        const refusal = permanentPostgresError(error);
        if (refusal !== undefined || !transientPostgresError(error) || signal?.aborted) {
          await database.close();
          if (refusal === undefined) throw error;
          throw new ConfigError(location.variable, `PostgreSQL at ${redactUrl(location.url)}: ${refusal}`);
        }
        startWaits.set(
          check,
          `waiting for PostgreSQL at ${redactUrl(location.url)} (${location.variable}) since ${new Date(startedAt).toISOString()}: ${error instanceof Error ? error.message : String(error)}`,
        );
        if (Date.now() >= nextLog) {
          nextLog = Date.now() + LOG_EVERY_MS;
          warned = true;
          log.warn(
            { err: error },
            `waiting for PostgreSQL at ${redactUrl(location.url)} for module ${module} (${Math.round((Date.now() - startedAt) / 1000)} s so far; set ${location.variable})`,
          );
        }
        await sleep(RETRY_MS);
      }
    }
  } finally {
    startWaits.clear(check);
  }
}
