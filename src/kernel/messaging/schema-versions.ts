/**
 * The versions of one schema (a message type's, or a module's stored event's): the newest, the
 * schema every earlier version had, and the upcasters between them; and reading data of any
 * version as the newest. The compatibility policy these follow (docs/adr/0015) is enforced at
 * build time by `npm run check:schemas`; this file is what a running build does with versions.
 */
import type { TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';

/** Turns data of schema version `n` into data of version `n + 1`. */
export type Upcaster = (data: unknown) => unknown;

/** An earlier version: the schema its data had, and the upcaster to the version after it. */
export interface PreviousVersion {
  readonly schema: TSchema;
  readonly upcast: Upcaster;
}

export interface VersionsSpec<S extends TSchema> {
  /** The schema of the newest version. */
  readonly schema: S;
  /** The newest schema version (default 1). */
  readonly version?: number;
  /**
   * Every earlier version `n` (1 … version - 1): its schema, and the upcaster from n to n + 1.
   * A new version always ships with its upcaster from the previous one.
   */
  readonly previous?: Readonly<Record<number, PreviousVersion>>;
}

/** The versions of a schema, complete: a schema for each of 1 … version, an upcaster below it. */
export interface SchemaVersions<S extends TSchema = TSchema> {
  readonly version: number;
  readonly schema: S;
  /** The schema of every version 1 … version (the newest is `schema`). */
  readonly schemas: Readonly<Record<number, TSchema>>;
  /** `upcasters[n]` turns version n into n + 1, for every n below `version`. */
  readonly upcasters: Readonly<Record<number, Upcaster>>;
}

/** Checks that `spec` names every earlier version (throws naming `name` and the gap). */
export function schemaVersions<S extends TSchema>(name: string, spec: VersionsSpec<S>): SchemaVersions<S> {
  const version = spec.version ?? 1;
  if (!Number.isInteger(version) || version < 1) throw new Error(`${name}: version must be an integer ≥ 1`);
  const previous = spec.previous ?? {};
  const schemas: Record<number, TSchema> = { [version]: spec.schema };
  const upcasters: Record<number, Upcaster> = {};
  for (const key of Object.keys(previous)) {
    const n = Number(key);
    if (!Number.isInteger(n) || n < 1 || n >= version) {
      throw new Error(`${name}: previous version ${key} is not one of 1 … ${version - 1}`);
    }
  }
  for (let n = 1; n < version; n++) {
    const earlier = previous[n];
    if (!earlier?.schema) throw new Error(`${name}: missing the schema of version ${n}`);
    if (typeof earlier.upcast !== 'function') {
      throw new Error(`${name}: missing upcaster from version ${n} to ${n + 1}`);
    }
    schemas[n] = earlier.schema;
    upcasters[n] = earlier.upcast;
  }
  return { version, schema: spec.schema, schemas, upcasters };
}

/** Data read as the newest version, or why it cannot be. */
export type ReadOutcome =
  | { readonly ok: true; readonly data: unknown }
  | {
      readonly ok: false;
      /**
       * True when the data is of a version newer than `versions.version` (a newer build wrote it)
       * and does not validate as the newest version this build knows; false when it is invalid.
       */
      readonly newer: boolean;
      readonly problems: string;
    };

/**
 * Reads `data` of schema version `from` as the newest version `versions` knows.
 * - Older: validated against its own version's schema, then upcast step by step, then validated
 *   against the newest (an upcaster that throws makes the data invalid, never a crash).
 * - The newest: validated.
 * - Newer than this build knows: read as this build's newest when it validates as that (a tolerant
 *   reader: the policy never gives a field another meaning under the same name, and fields this
 *   build does not know are ignored), else `newer: true`, for the caller to wait for a build that
 *   knows it. Never upcast or downcast: the data is returned as received.
 */
export function readVersion(versions: SchemaVersions, data: unknown, from: number): ReadOutcome {
  const newest = versions.version;
  if (!Number.isInteger(from) || from < 1) {
    return { ok: false, newer: false, problems: `schema version ${from} is not an integer ≥ 1` };
  }
  if (from > newest) {
    const problems = problemsOf(versions.schema, data);
    return problems === undefined ? { ok: true, data } : { ok: false, newer: true, problems };
  }
  let current = data;
  const own = versions.schemas[from];
  const ownProblems = own === undefined || from === newest ? undefined : problemsOf(own, current);
  if (ownProblems !== undefined) return { ok: false, newer: false, problems: `v${from}: ${ownProblems}` };
  for (let v = from; v < newest; v++) {
    try {
      current = versions.upcasters[v]?.(current);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return { ok: false, newer: false, problems: `upcasting v${v} to v${v + 1} failed: ${reason}` };
    }
  }
  const problems = problemsOf(versions.schema, current);
  return problems === undefined ? { ok: true, data: current } : { ok: false, newer: false, problems };
}

/** Compiled once per schema object (schemas are immutable once declared). */
const validators = new WeakMap<TSchema, Validator>();

/** Why `data` does not match `schema` (the first five problems), or undefined when it does. */
export function problemsOf(schema: TSchema, data: unknown): string | undefined {
  let validator = validators.get(schema);
  if (!validator) {
    validator = Compile(schema);
    validators.set(schema, validator);
  }
  return validator.Check(data) ? undefined : describeErrors(validator, data);
}

export function describeErrors(validator: Validator, value: unknown): string {
  return validator
    .Errors(value)
    .slice(0, 5)
    .map((e) => `${e.instancePath || '/'} ${e.message}`)
    .join('; ');
}
