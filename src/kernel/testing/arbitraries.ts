import fc from 'fast-check';

/**
 * Any JSON object, except one with a `__proto__` key anywhere: fastify's JSON parser refuses such
 * a body on its own (400 HTTP_INVALID_JSON) before validation runs, which is a different answer
 * from the HTTP_VALIDATION a property about schemas expects.
 */
export const jsonObject = (): fc.Arbitrary<Record<string, unknown>> =>
  fc.object({ key: fc.string().filter((key) => key !== '__proto__') });
