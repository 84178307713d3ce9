/** Types of scripts/migration-targets.mjs (plain JavaScript: generate-migrations.mjs runs before anything is compiled). */

export declare const ROOT: string;
export type Dialect = 'sqlite' | 'postgresql';
export declare const DIALECT_NAMES: Dialect[];
export interface MigrationTarget {
  dialect: Dialect;
  /** `kernel` or a module's name. */
  name: string;
  /** The schema file drizzle-kit reads, relative to ROOT. */
  schema: string;
  /** The migrations folder, relative to ROOT. */
  out: string;
}
export declare function migrationTargets(dialect: Dialect): MigrationTarget[];
