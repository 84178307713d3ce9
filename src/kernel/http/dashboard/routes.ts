import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Kernel } from '../../modules/kernel.js';
import type { HttpApp } from '../../modules/module.js';
import {
  clearedSessionCookie,
  requireAdminSession,
  sessionCookie,
  verifiedCaller,
} from '../admin-session.js';
import { HttpProblem } from '../errors.js';
import { renderDashboard } from './dashboard-page.js';
import { loadDashboardView } from './dashboard-view.js';
import { renderLogin, sendPage } from './layout.js';

const SessionBody = Type.Object(
  {
    // A JWT's three base64url parts: nothing else can reach the Set-Cookie header.
    token: Type.String({ pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*$', maxLength: 4096 }),
  },
  { additionalProperties: false },
);

const newNonce = () => randomBytes(16).toString('base64');

/** A browser navigating (not an API client): it gets pages, also for 401 and 403. */
function wantsPage(request: FastifyRequest): boolean {
  return request.headers.accept?.includes('text/html') ?? false;
}

/**
 * `requireAdminSession` for the dashboard page. API clients get the usual problem+json 401/403; a
 * browser gets the same status with the sign-in page as its body, so a person lands where they
 * can sign in (and, once signed in, the page reloads into the dashboard at the same address).
 */
async function dashboardAccess(
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply | undefined> {
  try {
    await requireAdminSession(request, reply);
    return undefined;
  } catch (error) {
    if (!(error instanceof HttpProblem) || !wantsPage(request)) throw error;
    const message =
      error.status === 403 ? 'This account is not an admin: sign in as one.' : 'Sign in as an admin.';
    // returning the reply ends the request here: the dashboard handler does not run
    return sendPage(reply, ...loginPage(message, error.status));
  }
}

function loginPage(message: string, status: number): [string, string, number] {
  const nonce = newNonce();
  return [nonce, renderLogin(nonce, message), status];
}

/** Secure cookies when the client came over https (X-Forwarded-Proto counts behind TRUST_PROXY). */
const overHttps = (request: FastifyRequest) => request.protocol === 'https';

/**
 * `GET /admin` (the dashboard), `GET /admin/login` (the sign-in page) and the browser session:
 * `POST /admin/session { token }` checks that the token is a valid admin JWT and keeps it in the
 * session cookie; `DELETE /admin/session` signs out.
 */
export function registerDashboard(app: HttpApp, kernel: Kernel): void {
  app.get('/admin', { onRequest: dashboardAccess, schema: { hide: true } }, async (_request, reply) => {
    const nonce = newNonce();
    return sendPage(reply, nonce, renderDashboard(await loadDashboardView(kernel), nonce));
  });
  app.get('/admin/login', { schema: { hide: true } }, async (_request, reply) =>
    sendPage(reply, ...loginPage('', 200)),
  );
  app.post(
    '/admin/session',
    {
      schema: {
        tags: ['admin'],
        summary: 'Keep an admin JWT in the HttpOnly session cookie of the dashboard',
        body: SessionBody,
      },
    },
    async (request, reply) => {
      const caller = verifiedCaller(app, request.body.token);
      if (caller.role !== 'admin')
        throw new HttpProblem(403, 'AUTH_ADMIN_ONLY', 'this account is not an admin');
      return reply
        .header('set-cookie', sessionCookie(request.body.token, caller.exp, overHttps(request)))
        .header('cache-control', 'no-store')
        .status(204)
        .send();
    },
  );
  app.delete(
    '/admin/session',
    { schema: { tags: ['admin'], summary: 'Sign the dashboard out (clears the cookie)' } },
    async (request, reply) =>
      reply
        .header('set-cookie', clearedSessionCookie(overHttps(request)))
        .status(204)
        .send(),
  );
}
