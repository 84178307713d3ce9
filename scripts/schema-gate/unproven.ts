import { canonicalJson, isObject, type JsonObject, stripAnnotations } from './schema-json.js';

/** Keywords json-schema-diff compares (its KEYWORDS.md). */
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
/** A change at `path` the gate cannot prove compatible. */
export interface Unproven {
  readonly path: string;
  readonly detail: string;
}

/**
 * Changes json-schema-diff cannot see: at every field both revisions have (the whole value
 * included), the keywords it does not understand are compared as they are written; a difference
 * is unproven. A field only one revision has is left to the set comparison (a new optional field
 * is read by no old reader, and written by no old writer).
 */
export function unproven(before: unknown, after: unknown, path: string): Unproven[] {
  if (!isObject(before) || !isObject(after)) return [];
  const found: Unproven[] = [];
  const [was, is] = [local(before), local(after)];
  if ((hasOpaque(was) || hasOpaque(is)) && canonicalJson(was) !== canonicalJson(is)) {
    found.push({
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
