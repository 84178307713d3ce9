import type { FastifyInstance } from 'fastify';

/**
 * What other processes serve, added to this process's /openapi.json, /docs and /asyncapi.json: a
 * gateway adds the routes and messages of the modules it proxies, so its documents describe the
 * whole system as one process's do. A part answers undefined while it does not know yet.
 */
export interface OpenApiPaths {
  readonly paths?: Readonly<Record<string, unknown>>;
}

export interface AsyncApiParts {
  readonly channels?: Readonly<Record<string, unknown>>;
  readonly operations?: Readonly<Record<string, unknown>>;
  readonly components?: { readonly messages?: Readonly<Record<string, unknown>> };
}

export interface DocumentParts {
  readonly openapi: (() => OpenApiPaths | undefined)[];
  readonly asyncapi: (() => AsyncApiParts | undefined)[];
}

declare module 'fastify' {
  interface FastifyInstance {
    documentParts: DocumentParts;
  }
}

export function addDocumentParts(
  app: FastifyInstance,
  parts: {
    readonly openapi?: () => OpenApiPaths | undefined;
    readonly asyncapi?: () => AsyncApiParts | undefined;
  },
): void {
  if (parts.openapi) app.documentParts.openapi.push(parts.openapi);
  if (parts.asyncapi) app.documentParts.asyncapi.push(parts.asyncapi);
}

/** Entries of the parts, then this process's own (which win), sorted by key. */
function union(
  own: Readonly<Record<string, unknown>> | undefined,
  others: readonly (Readonly<Record<string, unknown>> | undefined)[],
) {
  const merged: Record<string, unknown> = Object.assign({}, ...others, own);
  return Object.fromEntries(Object.entries(merged).sort(([a], [b]) => a.localeCompare(b)));
}

/** This process's OpenAPI document with the parts' paths added. */
export function mergedOpenApi<D extends OpenApiPaths>(own: D, parts: DocumentParts): D {
  if (parts.openapi.length === 0) return own;
  return {
    ...own,
    paths: union(
      own.paths,
      parts.openapi.map((part) => part()?.paths),
    ),
  };
}

/** This process's AsyncAPI document with the parts' channels, operations and messages added. */
export function mergedAsyncApi<D extends AsyncApiParts>(own: D, parts: DocumentParts): D {
  if (parts.asyncapi.length === 0) return own;
  const others = parts.asyncapi.map((part) => part());
  return {
    ...own,
    channels: union(
      own.channels,
      others.map((o) => o?.channels),
    ),
    operations: union(
      own.operations,
      others.map((o) => o?.operations),
    ),
    components: {
      ...own.components,
      messages: union(
        own.components?.messages,
        others.map((o) => o?.components?.messages),
      ),
    },
  };
}
