/**
 * Which module answers which path (CONTRACT section 3), and which routes anyone may call. A new
 * module with routes adds its prefixes here.
 */
export const ROUTE_PREFIXES: Readonly<Record<string, readonly string[]>> = {
  users: ['/auth', '/users'],
  inventory: ['/inventory'],
  payments: ['/payments'],
  orders: ['/orders'],
  notifications: ['/notifications'],
  analytics: ['/analytics'],
  webhooks: ['/webhooks'],
};

/** The path of a request URL, without its query. */
export function pathOf(url: string): string {
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

/** The module whose prefix the path falls under (`/orders`, `/orders/…`), if any. */
export function moduleForPath(path: string): string | undefined {
  for (const [module, prefixes] of Object.entries(ROUTE_PREFIXES)) {
    if (prefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))) return module;
  }
  return undefined;
}

const READ = new Set(['GET', 'HEAD']);

/**
 * Routes without a token: register, login, and the product catalogue. Every other proxied route
 * needs a valid bearer token at the edge (and again in its service).
 */
export function isPublicRoute(method: string, path: string): boolean {
  if (method === 'POST' && (path === '/auth/register' || path === '/auth/login')) return true;
  if (!READ.has(method)) return false;
  return path === '/inventory/products' || /^\/inventory\/products\/[^/]+$/.test(path);
}

/** Methods a client may repeat without a second effect: safe to try on another instance. */
export function isIdempotent(method: string): boolean {
  return ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'].includes(method);
}
