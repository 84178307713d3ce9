import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Kernel } from '../../modules/kernel.js';
import type { HttpApp, ModuleDefinition } from '../../modules/module.js';
import type { ServiceInstances } from '../../registry/http.js';
import type { SagaListing } from '../../sagas/store.js';
import {
  adminToken,
  clearedSessionCookie,
  requireAdminSession,
  sessionCookie,
  verifiedCaller,
} from '../admin-session.js';
import { HttpProblem } from '../errors.js';
import { renderDashboard, renderTimeline, type TimelineEntry } from './dashboard-page.js';
import { consumerLags, loadInstanceSnapshot } from './dashboard-view.js';
import { callInstance, gatherDeployment, instanceById } from './deployment.js';
import { ConsumerHistory } from './history.js';
import { renderLogin, sendPage } from './layout.js';

const SessionBody = Type.Object(
  {
    // A JWT's three base64url parts: nothing else can reach the Set-Cookie header.
    token: Type.String({ pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*$', maxLength: 4096 }),
  },
  { additionalProperties: false },
);

const DEFAULT_REFRESH_SECONDS = 5;
const RefreshQuery = Type.Object({
  refresh: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 300, description: 'Seconds between two refreshes of the page' }),
  ),
});
const GroupBody = Type.Object(
  {
    instance: Type.String({ minLength: 1, description: 'The instance that reported the group' }),
    consumer: Type.String({ minLength: 1 }),
    type: Type.Optional(Type.String({ minLength: 1 })),
    error: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
);
const TimelineParams = Type.Object({
  name: Type.String({ minLength: 1 }),
  id: Type.String({ minLength: 1 }),
});

/**
 * A saga subject's timeline from an instance that runs the saga's module: this process (through
 * its own routes), else the first live instance running it, with the admin's token.
 */
async function fetchTimeline(
  app: HttpApp,
  services: ServiceInstances,
  module: string,
  path: string,
  token: string,
): Promise<{ entries: TimelineEntry[] | undefined; problem?: string }> {
  let answer: { status: number; body: unknown };
  try {
    if (app.kernel.modules.some((m) => m.definition.name === module)) {
      const response = await app.inject({
        method: 'GET',
        url: path,
        headers: { authorization: `Bearer ${token}` },
      });
      answer = { status: response.statusCode, body: response.json() as unknown };
    } else {
      const instance = (await services.list()).find((candidate) => candidate.modules.includes(module));
      if (!instance) return { entries: undefined, problem: `no live instance runs ${module}` };
      answer = await callInstance(instance.url, token, 'GET', path);
    }
  } catch (error) {
    return {
      entries: undefined,
      problem: `the timeline (${path}): ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  if (answer.status !== 200 || !Array.isArray(answer.body)) {
    return { entries: undefined, problem: `the timeline (${path}) answered ${answer.status}` };
  }
  return { entries: answer.body as TimelineEntry[] };
}

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
export function registerDashboard(
  app: HttpApp,
  kernel: Kernel,
  deployment: { readonly services: ServiceInstances; readonly catalogue: readonly ModuleDefinition[] },
): void {
  const { services, catalogue } = deployment;
  const history = new ConsumerHistory(
    () => kernel.consumers().map((consumer) => consumer.name),
    kernel.metrics.recent,
    () => consumerLags(kernel),
  );
  app.addHook('onReady', async () => {
    void history.sample(); // the first point at once, not a whole interval later
  });
  app.addHook('onClose', async () => history.stop());
  const sagas = new Map(catalogue.flatMap((module) => (module.sagas ?? []).map((saga) => [saga.name, saga])));
  const timelineOf = (saga: SagaListing) => sagas.get(saga.name)?.timeline?.(saga.id);
  const snapshot = () => loadInstanceSnapshot(kernel, history, timelineOf);
  const tokenOf = (request: FastifyRequest) => {
    const token = adminToken(request);
    if (token === undefined) throw new HttpProblem(401, 'AUTH_INVALID_TOKEN', 'an admin token is required');
    return token;
  };

  app.get(
    '/admin',
    { onRequest: dashboardAccess, schema: { hide: true, querystring: RefreshQuery } },
    async (request, reply) => {
      const view = await gatherDeployment({ services, self: snapshot, token: tokenOf(request) });
      const nonce = newNonce();
      return sendPage(
        reply,
        nonce,
        renderDashboard(view, nonce, request.query.refresh ?? DEFAULT_REFRESH_SECONDS),
      );
    },
  );
  app.get(
    '/admin/instance',
    {
      onRequest: requireAdminSession,
      schema: {
        tags: ['admin'],
        summary:
          "This process's figures for the dashboard: health, consumers (depth, lag, throughput, p99, 15 minutes of history), dead-letter groups, sagas, outboxes 🛡",
      },
    },
    async () => snapshot(),
  );
  for (const action of ['replay', 'delete'] as const) {
    app.post(
      `/admin/deployment/dead-letters/${action}`,
      {
        onRequest: requireAdminSession,
        schema: {
          tags: ['admin'],
          summary: `${action === 'replay' ? 'Replays' : 'Deletes'} a group of dead letters (consumer, type, error) on the instance that keeps them 🛡`,
          body: GroupBody,
        },
      },
      async (request) => {
        const { instance, ...filter } = request.body;
        const target = await instanceById(services, instance);
        if (!target) throw new HttpProblem(404, 'ADMIN_INSTANCE_NOT_FOUND', `no live instance ${instance}`);
        if (target.self) {
          return action === 'replay'
            ? { replayed: await kernel.replayDeadLetters(filter) }
            : { deleted: await kernel.deleteDeadLetters(filter) };
        }
        const answer =
          action === 'replay'
            ? await callInstance(target.url, tokenOf(request), 'POST', '/admin/dead-letters/replay', filter)
            : await callInstance(
                target.url,
                tokenOf(request),
                'DELETE',
                `/admin/dead-letters?${new URLSearchParams(filter).toString()}`,
              );
        if (answer.status !== 200) {
          throw new HttpProblem(502, 'ADMIN_INSTANCE_FAILED', `${target.url} answered ${answer.status}`);
        }
        return answer.body;
      },
    );
  }
  app.get(
    '/admin/sagas/:name/:id/timeline',
    { onRequest: dashboardAccess, schema: { hide: true, params: TimelineParams } },
    async (request, reply) => {
      const { name, id } = request.params;
      const path = sagas.get(name)?.timeline?.(id);
      if (path === undefined) throw new HttpProblem(404, 'ADMIN_NO_TIMELINE', `saga ${name} has no timeline`);
      const module = name.slice(0, name.indexOf('.'));
      const { entries, problem } = await fetchTimeline(app, services, module, path, tokenOf(request));
      const nonce = newNonce();
      return sendPage(
        reply,
        nonce,
        renderTimeline({ saga: name, id, entries, ...(problem ? { problem } : {}) }, nonce),
      );
    },
  );
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
