import type { FastifyInstance, FastifyRequest, preValidationHookHandler } from 'fastify';

/** What a decimal integer query value may look like (more digits would not be a safe integer). */
const INTEGER_TEXT = /^-?\d{1,15}$/;

/** The names of the properties a querystring schema declares as integers. */
function integerProperties(schema: unknown): string[] {
  if (typeof schema !== 'object' || schema === null || !('properties' in schema)) return [];
  const { properties } = schema;
  if (typeof properties !== 'object' || properties === null) return [];
  return Object.entries(properties)
    .filter(([, property]) => (property as { type?: unknown } | null)?.type === 'integer')
    .map(([name]) => name);
}

/**
 * Query parameters arrive as text, and validation does not coerce types (a body's `"5"` for a
 * number must stay a 400). So the integers a route's querystring schema
 * declares (`?limit=20`) are converted before validation: a decimal integer becomes its number;
 * anything else stays text and fails validation as usual, naming the parameter.
 */
export function registerQueryIntegers(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const names = integerProperties(route.schema?.querystring);
    if (names.length === 0) return;
    const toIntegers = async (request: FastifyRequest): Promise<void> => {
      const query = request.query as Record<string, unknown>;
      for (const name of names) {
        const value = query[name];
        if (typeof value === 'string' && INTEGER_TEXT.test(value)) query[name] = Number(value);
      }
    };
    const existing = route.preValidation;
    route.preValidation = [
      ...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]),
      toIntegers as preValidationHookHandler,
    ];
  });
}
