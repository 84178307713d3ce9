/**
 * FULL compatibility of two revisions of one schema version, in the sense of docs/adr/0015:
 *
 * - backward: every value a publisher of the old revision wrote (stored events, messages in
 *   flight from instances not yet upgraded) is accepted by a reader of the new one;
 * - forward: every value a publisher of the new revision writes is accepted by a reader of the old
 *   one (instances not yet upgraded).
 *
 * A writer and a reader see a schema differently, as in Avro: a reader accepts what the schema
 * accepts (TypeBox objects are open, so fields it does not know are ignored), while a writer only
 * ever writes the fields the schema declares (its data is typed from the schema). So a writer's
 * view closes every object (`additionalProperties: false`); adding or removing an optional field
 * is then FULL compatible, as in Avro, where the plain JSON Schema sets would call it a narrowing.
 *
 * The sets are compared by json-schema-diff (Atlassian): `removedJsonSchema` of (writer → reader)
 * is the values the writer may write and the reader rejects. It ignores some keywords (`const`,
 * `enum`, `pattern`, `format`, …: see UNDERSTOOD in ./unproven.ts); a change of those where both revisions have
 * the field is reported as unproven, so the gate never passes what it could not compare.
 */
import jsonSchemaDiff from 'json-schema-diff';
import {
  asWritten,
  canonicalJson,
  isObject,
  type JsonObject,
  type JsonSchema,
  stripAnnotations,
} from './schema-json.js';
import { unproven } from './unproven.js';

export interface Incompatibility {
  /** backward: the new revision's reader rejects old data; forward: the old reader rejects new data. */
  readonly direction: 'backward' | 'forward' | 'unproven';
  /** Where in the data (a JSON pointer; `[]` stands for every item of an array; `/` is the whole). */
  readonly path: string;
  readonly detail: string;
}

/** A schema as json-schema-diff types it (plain JSON here: the cast only names its type). */
type DiffInput = Parameters<typeof jsonSchemaDiff.diffSchemas>[0]['sourceSchema'];

/** Values `written` allows and `reader` rejects, as a schema; undefined when there are none. */
async function rejected(written: unknown, reader: unknown): Promise<JsonSchema | undefined> {
  const result = await jsonSchemaDiff.diffSchemas({
    sourceSchema: stripAnnotations(written) as DiffInput,
    destinationSchema: stripAnnotations(reader) as DiffInput,
  });
  return result.removalsFound ? (result.removedJsonSchema as JsonSchema) : undefined;
}

/** Every FULL-compatibility problem of `after` against `before` (none: FULL compatible). */
export async function incompatibilities(before: JsonSchema, after: JsonSchema): Promise<Incompatibility[]> {
  const found: Incompatibility[] = [];
  for (const [direction, written, reader] of [
    ['backward', before, after],
    ['forward', after, before],
  ] as const) {
    const writtenView = asWritten(written);
    if ((await rejected(writtenView, reader)) === undefined) continue;
    for (const { path, detail } of await locate(writtenView, reader, ''))
      found.push({ direction, path, detail });
  }
  for (const { path, detail } of unproven(before, after, ''))
    found.push({ direction: 'unproven', path, detail });
  return found;
}

interface Located {
  readonly path: string;
  readonly detail: string;
}

/**
 * Where the values `written` allows and `reader` rejects differ: the deepest field paths, found by
 * comparing the fields of both objects one by one (json-schema-diff again); the whole value when no
 * single field explains it.
 */
async function locate(written: unknown, reader: unknown, path: string): Promise<Located[]> {
  const found: Located[] = [];
  if (
    isObject(written) &&
    isObject(reader) &&
    (isObject(written.properties) || isObject(reader.properties))
  ) {
    found.push(...(await locateFields(written, reader, path)));
  }
  if (
    found.length === 0 &&
    isObject(written) &&
    isObject(reader) &&
    'items' in written &&
    'items' in reader
  ) {
    if ((await rejected(written.items, reader.items)) !== undefined) {
      found.push(...(await locate(written.items, reader.items, `${path}/[]`)));
    }
  }
  if (found.length > 0) return found;
  const values = await rejected(written, reader);
  return [{ path: path || '/', detail: `the reader rejects values the writer may write: ${brief(values)}` }];
}

async function locateFields(written: JsonObject, reader: JsonObject, path: string): Promise<Located[]> {
  const found: Located[] = [];
  const writtenFields = isObject(written.properties) ? written.properties : {};
  const readFields = isObject(reader.properties) ? reader.properties : {};
  const writtenRequired = requiredOf(written);
  const readRequired = requiredOf(reader);
  const names = [...new Set([...Object.keys(writtenFields), ...Object.keys(readFields)])].sort();
  for (const name of names) {
    const here = `${path}/${name}`;
    if (readRequired.has(name) && !writtenRequired.has(name)) {
      const why = name in writtenFields ? 'optional for the writer' : 'never written';
      found.push({ path: here, detail: `required by the reader, ${why}` });
    } else if (name in writtenFields && name in readFields) {
      if ((await rejected(writtenFields[name], readFields[name])) !== undefined) {
        found.push(...(await locate(writtenFields[name], readFields[name], here)));
      }
    } else if (name in writtenFields && reader.additionalProperties === false) {
      found.push({ path: here, detail: 'written, and the reader accepts no such field' });
    }
  }
  return found;
}

const requiredOf = (schema: JsonObject): Set<string> =>
  new Set(Array.isArray(schema.required) ? schema.required.filter((r) => typeof r === 'string') : []);

const brief = (schema: unknown): string => {
  const text = canonicalJson(schema);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
};
