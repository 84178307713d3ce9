/** JSON Schema values as the gate handles them: plain JSON, compared as sorted text. */

export type JsonSchema = boolean | JsonObject;
export type JsonObject = { readonly [key: string]: unknown };

/** Keywords that validate nothing: left out of every comparison. */
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

export const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const mapValues = (object: JsonObject, fn: (value: unknown) => unknown): JsonObject =>
  Object.fromEntries(Object.entries(object).map(([key, value]) => [key, fn(value)]));

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

/** The schema without annotations, at any depth. */
export function stripAnnotations(schema: unknown): unknown {
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

/** JSON with every object's keys sorted: equal schemas give equal text (snapshots, comparisons). */
export function canonicalJson(value: unknown, indent?: number): string {
  return JSON.stringify(sortKeys(value), null, indent);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys(value[key])]),
  );
}
