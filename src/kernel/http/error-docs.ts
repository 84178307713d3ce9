import type { HttpApp, ModuleDefinition } from '../modules/module.js';
import { packageInfo } from '../package-info.js';
import { html } from './dashboard/html.js';
import { prefersHtml } from './index-route.js';

/** Where an error code is described: a problem's `type` (RFC 9457), served by every process. */
export const ERROR_DOCS_PATH = '/docs/errors';

export const problemTypeOf = (code: string): string => `${ERROR_DOCS_PATH}#${code}`;

/** The codes the kernel's HTTP plumbing answers with, and what a caller does about each. */
export const KERNEL_ERRORS: Readonly<Record<string, string>> = {
  HTTP_VALIDATION:
    "The request (body, query or path) does not match the route's schema: `errors` lists each offending value by JSON pointer. Unknown fields and values of the wrong type are refused, never dropped or converted. Fix the request.",
  HTTP_INVALID_JSON: 'The body is not JSON (or is empty) while the content type says it is.',
  HTTP_BODY_TOO_LARGE: 'The body is over 1 MiB.',
  HTTP_UNSUPPORTED_MEDIA_TYPE: 'The content type is not one the route reads: send `application/json`.',
  HTTP_NOT_FOUND: 'No route has this path.',
  HTTP_METHOD_NOT_ALLOWED: 'The path exists, not with this method: `allow` names the methods it has.',
  HTTP_INVALID_CURSOR:
    "A list's `cursor` is not one of its cursors: pass the `next` of a page of the same list, unchanged.",
  HTTP_RATE_LIMITED: 'Too many requests from this client: wait the seconds `retry-after` gives.',
  HTTP_NEWER_SCHEMA_VERSION:
    'The answer needs data stored by a newer build of the module than the instance that took the request (a rolling upgrade is under way): try again after the seconds `retry-after` gives, when an upgraded instance answers.',
  HTTP_BACKPRESSURE:
    "This process is too far behind on the work commands feed: a module's outbox, or the lag of one of its consumers, has reached its bound (BACKPRESSURE_OUTBOX_PENDING_MAX, BACKPRESSURE_CONSUMER_LAG_MAX; the detail names it). The command was not taken and nothing was done; reads still answer. Try again after the seconds `retry-after` gives.",
  DATABASE_BUSY:
    "Another process held the module's database write lock for longer than a request waits (5 s); nothing was written. Try again after the seconds `retry-after` gives.",
  DATABASE_UNAVAILABLE:
    'The module keeps its state in PostgreSQL and its server does not answer now (stopped, restarting, or out of connections); nothing was written, and readiness (`/health/ready`) says so meanwhile. Try again after the seconds `retry-after` gives.',
  HTTP_INTERNAL:
    "The server failed. The detail says nothing more on purpose; the log has the cause under the request's correlation id (`x-correlation-id`).",
  AUTH_INVALID_TOKEN:
    "The route needs a valid bearer token (`authorization: Bearer …`, from `POST /auth/login`), or an admin session for the admin pages; it is missing, expired, or not signed by this deployment's JWT_SECRET.",
  AUTH_TOKEN_REVOKED:
    "The token was issued before its account's password or role changed, or its account was deleted: sign in again for a new token (a deleted account cannot). Every process learns of such a change from the users module's `users.account-changed` events, within moments.",
  AUTH_ADMIN_ONLY: 'The route is for admins; this account is not one.',
  AUTH_CSRF_HEADER_MISSING:
    "A change made with the admin session cookie must carry the header the dashboard sends, so that another site cannot make it on an admin's behalf.",
  ADMIN_DEAD_LETTER_NOT_FOUND: 'No dead letter has this id in this process (each process lists its own).',
  ADMIN_INSTANCE_NOT_FOUND:
    'The dashboard acts only on instances the service registry lists as live: this one is not (it stopped, or its heartbeat is late).',
  ADMIN_INSTANCE_FAILED:
    'The instance that keeps these dead letters answered the replay or delete with an error; the status it gave is in the detail.',
  ADMIN_NO_TIMELINE: 'This saga links to no timeline (only a checkout leads to its order).',
  BUS_NOT_CONNECTED:
    'The process has not connected to its broker yet; the queue board needs it. Try again once `/health/ready` answers 200.',
};

interface DocumentedError {
  readonly code: string;
  readonly owner: string;
  readonly description: string;
}

/** Every code of the kernel and of each module of the catalogue (running here or not), by code. */
export function documentedErrors(catalogue: readonly ModuleDefinition[]): DocumentedError[] {
  const entries = [
    ...Object.entries(KERNEL_ERRORS).map(([code, description]) => ({ code, owner: 'kernel', description })),
    ...catalogue.flatMap((module) =>
      Object.entries(module.errors ?? {}).map(([code, description]) => ({
        code,
        owner: module.name,
        description,
      })),
    ),
  ];
  return entries.sort((a, b) => a.code.localeCompare(b.code));
}

function errorsPage(errors: readonly DocumentedError[]): string {
  const sections = errors.map(
    ({ code, owner, description }) =>
      html`<section id="${code}"><h2><a href="#${code}">${code}</a></h2><p>${description}</p><p><small>${owner}</small></p></section>`,
  );
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${packageInfo.name}: error codes</title></head>
<body>
<h1>Error codes</h1>
<p>Every error is <code>application/problem+json</code> with a stable <code>code</code>; its <code>type</code> links here.</p>
${sections}
</body>
</html>
`.markup;
}

/**
 * `GET /docs/errors`: what each error code means, for the whole catalogue (the `type` of every
 * problem points at its entry). HTML for a browser, `{ errors: [{ code, owner, description }] }`
 * otherwise.
 */
export function registerErrorDocs(app: HttpApp, catalogue: readonly ModuleDefinition[]): void {
  const errors = documentedErrors(catalogue);
  const page = errorsPage(errors);
  app.get(ERROR_DOCS_PATH, { schema: { hide: true } }, async (request, reply) => {
    if (prefersHtml(request.headers.accept)) return reply.type('text/html; charset=utf-8').send(page);
    return { errors };
  });
}
