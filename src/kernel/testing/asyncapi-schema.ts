import specs from '@asyncapi/specs';
import { Ajv } from 'ajv';

/**
 * Checks a document against the official AsyncAPI 3.0.0 JSON Schema (@asyncapi/specs) — the
 * structure @asyncapi/parser validates first, without the parser's Spectral rule engine and its
 * dependencies. `meta: false`: the bundled schema carries its own copy of the draft-07 meta-schema.
 * Formats (uri, email) are not checked: that would take ajv-formats as one more dependency.
 */
const validate = new Ajv({
  strict: false,
  allErrors: true,
  meta: false,
  validateSchema: false,
  validateFormats: false,
}).compile(specs.schemas['3.0.0']);

/** What makes `document` not a valid AsyncAPI 3.0.0 document (empty when it is one). */
export function asyncApiProblems(document: unknown): string[] {
  if (validate(document)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`);
}
