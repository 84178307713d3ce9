import type { FastifyInstance } from 'fastify';

/** The part of an OpenAPI document that is merged: its paths (each with its operations). */
export interface OpenApiPaths {
  readonly paths?: Readonly<Record<string, unknown>>;
}

/** Gives paths this process does not serve itself (the gateway: the modules it proxies); may be undefined while unknown. */
export type OpenApiPart = () => OpenApiPaths | undefined;

declare module 'fastify' {
  interface FastifyInstance {
    openApiParts: OpenApiPart[];
  }
}

/** Adds paths served elsewhere to this process's /openapi.json and /docs. */
export function addOpenApiPart(app: FastifyInstance, part: OpenApiPart): void {
  app.openApiParts.push(part);
}

/** This process's document with the parts' paths added; a path this process serves keeps its own description. */
export function mergedOpenApi<D extends OpenApiPaths>(own: D, parts: readonly OpenApiPart[]): D {
  if (parts.length === 0) return own;
  const paths: Record<string, unknown> = {};
  for (const part of parts) Object.assign(paths, part()?.paths);
  Object.assign(paths, own.paths);
  return { ...own, paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))) };
}
