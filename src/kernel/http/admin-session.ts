import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AuthUser, assertCurrentCaller, requireAdmin } from './auth.js';
import { HttpProblem } from './errors.js';

/**
 * The admin session of a browser: the very JWT the users module issues at login, kept in a cookie
 * so the dashboard works without a token in page script. The cookie is HttpOnly (page script,
 * injected or not, never reads it), SameSite=Strict (no other site's page sends it), Secure over
 * https, and scoped to /admin so it authenticates the admin pages and admin JSON routes and nothing
 * else: the rest of the API still wants a bearer token.
 */
export const ADMIN_COOKIE = 'modulith_admin';
export const ADMIN_COOKIE_PATH = '/admin';

/**
 * Header every state-changing request authenticated by the cookie must carry (any value). A form on
 * another site cannot set it, and a cross-origin fetch that does needs a CORS preflight this server
 * never grants: CSRF protection also against a sibling subdomain, which SameSite treats as same-site.
 */
export const ADMIN_REQUEST_HEADER = 'x-admin-request';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Whether a cookie-authenticated change comes from a page of this origin: it carries the
 * ADMIN_REQUEST_HEADER (the dashboard's script sets it), or the browser says so with
 * `Sec-Fetch-Site: same-origin` (a header page script cannot set; a sibling subdomain's page gets
 * `same-site`), which is how bull-board's own page, whose requests we do not write, gets through.
 */
function fromThisOrigin(request: FastifyRequest): boolean {
  return (
    request.headers[ADMIN_REQUEST_HEADER] !== undefined || request.headers['sec-fetch-site'] === 'same-origin'
  );
}

/** The value of one cookie of a `Cookie` request header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const separator = part.indexOf('=');
    if (separator > 0 && part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim();
  }
  return undefined;
}

/**
 * The caller of a token (signature, algorithm, expiry, claims and the account's standing checked):
 * 401 when it is not valid.
 */
export function verifiedCaller(app: FastifyInstance, token: string): AuthUser & { readonly exp: number } {
  let claims: AuthUser & { exp: number };
  try {
    claims = app.jwt.verify<AuthUser & { exp: number }>(token);
  } catch {
    throw new HttpProblem(401, 'AUTH_INVALID_TOKEN', 'the admin session is not valid; sign in again');
  }
  assertCurrentCaller(app, claims);
  return claims;
}

/**
 * Route hook (`onRequest`) for the admin pages and admin JSON routes: a bearer token when the
 * request has an Authorization header (the API's way; it wins over a cookie), else the session
 * cookie. 401 without a valid one, 403 for a non-admin, 403 for a cookie-authenticated change
 * that does not come from a page of this origin (`fromThisOrigin`).
 */
export async function requireAdminSession(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (request.headers.authorization !== undefined) return requireAdmin(request, reply);
  const token = cookieValue(request.headers.cookie, ADMIN_COOKIE);
  if (token === undefined) {
    throw new HttpProblem(401, 'AUTH_INVALID_TOKEN', 'a valid bearer token or admin session is required');
  }
  const caller = verifiedCaller(request.server, token);
  if (caller.role !== 'admin') throw new HttpProblem(403, 'AUTH_ADMIN_ONLY', 'this route is for admins');
  if (!SAFE_METHODS.has(request.method) && !fromThisOrigin(request)) {
    throw new HttpProblem(
      403,
      'AUTH_CSRF_HEADER_MISSING',
      `a change made with the admin session cookie needs the ${ADMIN_REQUEST_HEADER} header`,
    );
  }
  request.user = {
    sub: caller.sub,
    role: caller.role,
    ...(caller.ver === undefined ? {} : { ver: caller.ver }),
  };
}

/**
 * The token an admin request was let in with (after `requireAdminSession`): the bearer token, else
 * the session cookie's. The dashboard sends it on to the other instances, which check it again.
 */
export function adminToken(request: FastifyRequest): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
  return bearer ?? cookieValue(request.headers.cookie, ADMIN_COOKIE);
}

/** Set-Cookie value that stores `token` until it expires (`exp`, seconds since the epoch). */
export function sessionCookie(token: string, exp: number, secure: boolean): string {
  const maxAge = Math.max(0, exp - Math.floor(Date.now() / 1000));
  return sessionCookieWith(token, maxAge, secure);
}

/** Set-Cookie value that removes the session. */
export function clearedSessionCookie(secure: boolean): string {
  return sessionCookieWith('', 0, secure);
}

function sessionCookieWith(value: string, maxAge: number, secure: boolean): string {
  const attributes = [`Path=${ADMIN_COOKIE_PATH}`, `Max-Age=${maxAge}`, 'HttpOnly', 'SameSite=Strict'];
  if (secure) attributes.push('Secure');
  return [`${ADMIN_COOKIE}=${value}`, ...attributes].join('; ');
}
