/**
 * FULL compatibility of two revisions of one schema version, in the sense of docs/adr/0013:
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
 * `enum`, `pattern`, `format`, …: see UNDERSTOOD); a change of those where both revisions have
 * the field is reported as unproven, so the gate never passes what it could not compare.
 */
import jsonSchemaDiff from 'json-schema-diff';

export type JsonSchema = boolean | JsonObject;
export type JsonObject = { readonly [key: string]: unknown };

export interface Incompatibility {
  /** backward: the new revision's reader rejects old data; forward: the old reader rejects new data. */
  readonly direction: 'backward' | 'forward' | 'unproven';
  /** Where in the data (a JSON pointer; `[]` stands for every item of an array; `/` is the whole). */
  readonly path: string;
  readonly detail: string;
}

/** Keywords json-schema-diff compares (its KEYWORDS.md), and annotations that validate nothing. */
const UNDERSTOOD = new Set([
  'type',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'items',
  'maxItems',
  'minItems',
  'maxProperties',
  'minProperties',
  'required',
  'properties',
  'additionalProperties',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
]);
const ANNOTATIONS = new Set([
  'title',
  'description',
  'default',
  'examples',
  '$id',
  '$schema',
  '$comment',
  'readOnly',
  'writeOnly',
  'deprecated',
]);

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The schema as a writer uses it: every object closed to the fields it declares. */
export function asWritten(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(asWritten);
  if (!isObject(schema)) return schema;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    copy[key] = key === 'properties' && isObject(value) ? mapValues(value, asWritten) : asWritten(value);
  }
  const isObjectSchema = 'properties' in schema || schema.type === 'object';
  if (isObjectSchema && !('additionalProperties' in schema) && !('patternProperties' in schema)) {
    copy.additionalProperties = false;
  }
  return copy;
}

const mapValues = (object: JsonObject, fn: (value: unknown) => unknown): JsonObject =>
  Object.fromEntries(Object.entries(object).map(([key, value]) => [key, fn(value)]));

/** Values `written` allows and `reader` rejects, as a schema; undefined when there are none. */
async function rejected(written: unknown, reader: unknown): Promise<JsonSchema | undefined> {
  const result = await jsonSchemaDiff.diffSchemas({
    sourceSchema: stripAnnotations(written) as never,
    destinationSchema: stripAnnotations(reader) as never,
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
  found.push(...unproven(before, after, ''));
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

/**
 * Changes json-schema-diff cannot see: at every field both revisions have (the whole value
 * included), the keywords it does not understand are compared as they are written; a difference
 * is unproven. A field only one revision has is left to the set comparison (a new optional field
 * is read by no old reader, and written by no old writer).
 */
function unproven(before: unknown, after: unknown, path: string): Incompatibility[] {
  if (!isObject(before) || !isObject(after)) return [];
  const found: Incompatibility[] = [];
  const [was, is] = [local(before), local(after)];
  if ((hasOpaque(was) || hasOpaque(is)) && canonicalJson(was) !== canonicalJson(is)) {
    found.push({
      direction: 'unproven',
      path: path || '/',
      detail: `changed where json-schema-diff does not compare (${opaqueKeywords(was, is).join(', ')}): ${canonicalJson(was)} → ${canonicalJson(is)}`,
    });
  }
  const fieldsBefore = isObject(before.properties) ? before.properties : {};
  const fieldsAfter = isObject(after.properties) ? after.properties : {};
  for (const name of Object.keys(fieldsBefore).sort()) {
    if (name in fieldsAfter)
      found.push(...unproven(fieldsBefore[name], fieldsAfter[name], `${path}/${name}`));
  }
  found.push(...unproven(before.items, after.items, `${path}/[]`));
  return found;
}

/** A schema node without its fields and items (compared on their own) and without annotations. */
function local(node: JsonObject): unknown {
  const { properties: _properties, items: _items, ...rest } = node;
  return stripAnnotations(rest);
}

function stripAnnotations(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(stripAnnotations);
  if (!isObject(schema)) return schema;
  const kept = Object.entries(schema).filter(([key]) => !ANNOTATIONS.has(key));
  return Object.fromEntries(
    kept.map(([key, value]) => [
      key,
      key === 'properties' && isObject(value) ? mapValues(value, stripAnnotations) : stripAnnotations(value),
    ]),
  );
}

/** The keywords json-schema-diff does not understand, anywhere in `schema`. */
function opaqueKeywordsOf(schema: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(schema)) for (const item of schema) opaqueKeywordsOf(item, into);
  if (!isObject(schema)) return into;
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && isObject(value)) {
      for (const field of Object.values(value)) opaqueKeywordsOf(field, into);
      continue;
    }
    if (!UNDERSTOOD.has(key)) into.add(key);
    opaqueKeywordsOf(value, into);
  }
  return into;
}

const hasOpaque = (schema: unknown): boolean => opaqueKeywordsOf(schema, new Set()).size > 0;
const opaqueKeywords = (a: unknown, b: unknown): string[] =>
  [...opaqueKeywordsOf(b, opaqueKeywordsOf(a, new Set()))].sort();

/** JSON with every object's keys sorted: equal schemas give equal text (snapshots, comparisons). */
export function canonicalJson(value: unknown, indent?: number): string {
  return JSON.stringify(sortKeys(value), null, indent);
}

export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys(value[key])]),
  );
}

const brief = (schema: unknown): string => {
  const text = canonicalJson(schema);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
};
