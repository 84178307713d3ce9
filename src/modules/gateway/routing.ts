import { type ModuleDefinition, matchesPath, type PublicRoute } from '../../kernel/index.js';

/**
 * Which module answers which path (CONTRACT section 3), and which routes anyone may call: read
 * from the `http` each module definition of the build declares, so a new module brings its own.
 */

/** A module with HTTP routes, and the prefixes they live under. */
export interface RoutedModule {
  readonly name: string;
  readonly prefixes: readonly string[];
}

/** The modules of the catalogue that declare HTTP prefixes, in catalogue order. */
export function routedModules(catalogue: readonly ModuleDefinition[]): RoutedModule[] {
  return catalogue.flatMap((module) =>
    module.http ? [{ name: module.name, prefixes: module.http.prefixes }] : [],
  );
}

/** True when the path is one of the prefixes or under one (`/orders`, `/orders/…`, not `/ordersx`). */
export function underPrefixes(path: string, prefixes: readonly string[]): boolean {
  return prefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

/** The path of a request URL, without its query. */
export function pathOf(url: string): string {
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

/**
 * True when an instance reads the path as it is written. A `.` or `..` segment (percent-encoded
 * too, or after a backslash, which URL parsers take for a slash) would be resolved on the way, to
 * a path the gateway did not route (maybe outside the module's prefixes); a malformed
 * percent-escape cannot be read at all.
 */
export function isPlainPath(path: string): boolean {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return false;
  }
  return !decoded.split(/[/\\]/).some((segment) => segment === '.' || segment === '..');
}

/** The module whose declared prefix the path falls under, if any. */
export function moduleForPath(catalogue: readonly ModuleDefinition[], path: string): string | undefined {
  return routedModules(catalogue).find((module) => underPrefixes(path, module.prefixes))?.name;
}

/** Segment by segment; a `:name` segment matches one non-empty segment (see `PublicRoute`). */
function matches(route: PublicRoute, method: string, path: string): boolean {
  return route.method === method && matchesPath(route.path, path);
}

/**
 * True for a route some module declares public (register, login, the product catalogue). Every
 * other proxied route needs a valid bearer token at the edge (and again in its service).
 */
export function isPublicRoute(catalogue: readonly ModuleDefinition[], method: string, path: string): boolean {
  return catalogue.some((module) =>
    (module.http?.publicRoutes ?? []).some((route) => matches(route, method, path)),
  );
}

/** Methods a client may repeat without a second effect: safe to try on another instance. */
export function isIdempotent(method: string): boolean {
  return ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'].includes(method);
}
