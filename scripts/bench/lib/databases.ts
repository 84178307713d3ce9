/**
 * The bench's throwaway PostgreSQL databases (`createTestDatabase`: named `modulith_test_bench_…`).
 * Each row drops its own; one whose row timed out (its work still running when the bench moves on)
 * is dropped by `dropBenchDatabases` at the end, before the process exits.
 */
import { createTestDatabase, type TestDatabase } from '../../../src/kernel/testing/postgres.js';
import { progress } from './rows.js';

const left = new Set<TestDatabase>();

/** A new empty database; `drop()` it when the row is done. */
export async function benchDatabase(label: string): Promise<TestDatabase> {
  const database = await createTestDatabase(`bench_${label}`);
  left.add(database);
  return {
    name: database.name,
    url: database.url,
    drop: async () => {
      await database.drop();
      left.delete(database);
    },
  };
}

/** Drops every database not dropped yet (idempotent); a failure is printed, never thrown. */
export async function dropBenchDatabases(): Promise<void> {
  for (const database of [...left]) {
    try {
      await database.drop();
      left.delete(database);
    } catch (error) {
      progress(`could not drop PostgreSQL database ${database.name}: ${String(error)}`);
    }
  }
}
