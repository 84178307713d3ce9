import type { TSchema } from 'typebox';
import { NewerSchemaVersionError } from '../messaging/errors.js';
import {
  problemsOf,
  readVersion,
  type SchemaVersions,
  schemaVersions,
  type VersionsSpec,
} from '../messaging/schema-versions.js';

/** One type of event a module stores (an event-sourced aggregate's), with its schema versions. */
export interface StoredEventType extends SchemaVersions {
  /** `<module>.<Name>`: the name the compatibility gate and its snapshots know it by. */
  readonly type: string;
  readonly kind: 'stored';
  /** The name stored in the module's rows. */
  readonly name: string;
}

/** Stored data that no build can read: invalid for its version, or of an unknown type. */
export class StoredEventError extends Error {
  override readonly name = 'StoredEventError';
}

/**
 * The event types a module stores, each with every schema version it was ever stored at and the
 * upcasters between them (the same versions as messages: schema-versions.ts). Guarantees: data
 * is stored at its type's newest version, valid (`forStorage` throws otherwise: a bug); data of
 * any version ever stored is read as the newest (`read`), so a stream replays whatever version
 * each event was stored at; data of a newer version (stored by a newer build on the same database)
 * is read as this build's newest when it validates as that, else `read` throws
 * NewerSchemaVersionError, which a consumer turns into a hold for an instance of a newer build.
 * Declared in a module's `storedEvents`, they are checked by `npm run check:schemas` as messages
 * are (docs/adr/0015).
 */
export class StoredEvents<Name extends string = string> {
  readonly module: string;
  readonly #types = new Map<string, StoredEventType>();

  constructor(module: string, specs: Readonly<Record<Name, VersionsSpec<TSchema>>>) {
    this.module = module;
    for (const [name, spec] of Object.entries<VersionsSpec<TSchema>>(specs)) {
      const type = `${module}.${name}`;
      this.#types.set(name, { ...schemaVersions(type, spec), type, kind: 'stored', name });
    }
  }

  /** Every stored event type, in declaration order. */
  all(): StoredEventType[] {
    return [...this.#types.values()];
  }

  /** The version to store `data` of `name` at (its newest); throws when `data` is not valid for it. */
  forStorage(name: Name, data: unknown): number {
    const type = this.#type(name);
    const problems = problemsOf(type.schema, data);
    if (problems) throw new Error(`cannot store ${type.type}: ${problems}`);
    return type.version;
  }

  /** Stored data of `name` at `version`, read as the newest version this build knows. */
  read(name: string, version: number, data: unknown): unknown {
    const type = this.#type(name);
    const read = readVersion(type, data, version);
    if (read.ok) return read.data;
    if (read.newer) throw new NewerSchemaVersionError(type.type, version, type.version, read.problems);
    throw new StoredEventError(
      `${type.type} v${version} stored, unreadable as v${type.version}: ${read.problems}`,
    );
  }

  #type(name: string): StoredEventType {
    const type = this.#types.get(name);
    if (!type) throw new StoredEventError(`${this.module}: unknown stored event type ${name}`);
    return type;
  }
}

/** Declares the events a module stores: `{ Name: { schema, version?, previous? } }`. */
export function defineStoredEvents<const Name extends string>(
  module: string,
  specs: Readonly<Record<Name, VersionsSpec<TSchema>>>,
): StoredEvents<Name> {
  return new StoredEvents(module, specs);
}
