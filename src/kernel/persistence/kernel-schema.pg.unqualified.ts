import { unqualifiedKernelPgTables } from './kernel-schema.pg.js';

/**
 * What drizzle-kit reads to write `migrations/postgres/kernel` (`npm run db:generate`): the kernel
 * tables without a schema, one export per table (drizzle-kit collects a file's table exports).
 * Those migrations name no schema, so the PostgreSQL migrator applies them into every module's
 * schema with `search_path` (`migrate-postgres.ts`). Not for queries: see `kernelPgTables`.
 */
export const {
  kernelOutbox,
  kernelInbox,
  kernelDeliveries,
  kernelDeadLetters,
  kernelSagas,
  kernelLeases,
  kernelAccounts,
} = unqualifiedKernelPgTables();
