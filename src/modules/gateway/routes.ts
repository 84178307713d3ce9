import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  addDocumentParts,
  authenticate,
  createServiceDirectory,
  type HttpApp,
  type ModuleContext,
  type ModuleDefinition,
  type ServiceDirectory,
  sendProblem,
} from '../../kernel/index.js';
import { Balancer } from './balancer.js';
import { forward, registerForwarding } from './proxy.js';
import { RemoteDocs } from './remote-docs.js';
import { isIdempotent, isPlainPath, isPublicRoute, pathOf, routedModules } from './routing.js';
import type { GatewaySettings } from './settings.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

interface Proxy {
  readonly directory: ServiceDirectory | undefined;
  readonly balancer: Balancer;
  readonly timeoutMs: number;
}

/** 401 at the edge for every proxied route but the public ones the catalogue declares (the service checks again). */
function edgeAuthentication(catalogue: readonly ModuleDefinition[]) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (isPublicRoute(catalogue, request.method, pathOf(request.raw.url ?? '/'))) return;
    await authenticate(request, reply);
  };
}

function noInstance(reply: FastifyReply, module: string, detail: string): FastifyReply {
  reply.header('retry-after', '1');
  return sendProblem(reply, {
    status: 503,
    code: 'GATEWAY_NO_INSTANCE',
    title: 'Service Unavailable',
    detail: `no instance of module "${module}" is up: ${detail}`,
  });
}

/**
 * Sends the request to the module's instances in turn until one answers; the answer streams to the
 * client from its first bytes, so only what happens before them can be retried or turned into a problem.
 */
async function proxyTo(module: string, proxy: Proxy, request: FastifyRequest, reply: FastifyReply) {
  if (!isPlainPath(pathOf(request.raw.url ?? '/'))) {
    return sendProblem(reply, {
      status: 404,
      code: 'HTTP_NOT_FOUND',
      detail: 'the path has a "." or ".." segment, or a malformed escape: no route resolves it',
    });
  }
  if (!proxy.directory) {
    return noInstance(
      reply,
      module,
      'it does not run in this process and there is no service registry (set REDIS_URL or a broker TRANSPORT)',
    );
  }
  let live = proxy.directory.instancesOf(module);
  let candidates = proxy.balancer.candidates(module, live);
  if (candidates.length === 0) {
    // The snapshot may be a poll behind (an instance that just registered): read the registry now.
    await proxy.directory.refresh();
    live = proxy.directory.instancesOf(module);
    candidates = proxy.balancer.candidates(module, live);
  }
  if (candidates.length === 0) {
    return noInstance(
      reply,
      module,
      live.length === 0 ? 'none registered' : `${live.length} registered, none reachable`,
    );
  }
  const failures: string[] = [];
  for (const instance of candidates) {
    const attempt = await forward(request, reply, instance.url);
    // the answer is on its way (or nobody waits for one): the reply is reply-from's now
    if (typeof attempt === 'string') return reply;
    request.log.warn(
      { module, instance: instance.id, url: instance.url, failure: attempt.kind, reason: attempt.message },
      'gateway: upstream failed',
    );
    if (attempt.kind === 'timeout') {
      return sendProblem(reply, {
        status: 504,
        code: 'GATEWAY_TIMEOUT',
        title: 'Gateway Timeout',
        detail: `module "${module}" at ${instance.url} did not answer within ${proxy.timeoutMs} ms`,
      });
    }
    const retryable =
      attempt.kind === 'unreached' || (attempt.kind === 'broken' && isIdempotent(request.method));
    if (!retryable) {
      return sendProblem(reply, {
        status: 502,
        code: 'GATEWAY_UPSTREAM_FAILED',
        title: 'Bad Gateway',
        detail: `module "${module}" at ${instance.url} failed to answer (${attempt.message}); the request may have taken effect`,
      });
    }
    proxy.balancer.suspect(instance.id);
    failures.push(`${instance.url}: ${attempt.message}`);
  }
  return noInstance(reply, module, `${failures.length} tried, none answered (${failures.join('; ')})`);
}

/**
 * The gateway's routes: every route prefix of a module of the build (`ctx.catalogue`) that this
 * process does not run, proxied to that module's live instances; the modules that run here answer
 * directly (their own routes). Request bodies pass through unparsed, read whole first (the 1 MiB
 * body limit applies, and a refused connection can take them to another instance); answers stream.
 */
export async function gatewayRoutes(app: HttpApp, ctx: ModuleContext<GatewaySettings>): Promise<void> {
  const remote = routedModules(ctx.catalogue).filter((module) => !ctx.config.modules.includes(module.name));
  if (remote.length === 0) return; // every module runs here: nothing to proxy
  const proxy: Proxy = {
    directory: createServiceDirectory(ctx.config, ctx.log),
    balancer: new Balancer(),
    timeoutMs: ctx.settings.timeoutMs,
  };
  const docs = proxy.directory && new RemoteDocs(proxy.directory, remote, ctx.log);
  if (docs) addDocumentParts(app, { openapi: () => docs.openApi(), asyncapi: () => docs.asyncApi() });
  app.addHook('onClose', async () => {
    await docs?.close();
    await proxy.directory?.close();
  });
  await registerForwarding(app, proxy.timeoutMs);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  const onRequest = edgeAuthentication(ctx.catalogue);
  for (const { name, prefixes } of remote) {
    for (const prefix of prefixes) {
      for (const url of [prefix, `${prefix}/*`]) {
        app.route({
          method: [...METHODS],
          url,
          schema: { hide: true },
          // The process that runs the module knows its backlogs and refuses for itself (the 503
          // passes through); this one's say nothing about that module's work.
          config: { backpressure: false },
          onRequest,
          handler: (request, reply) => proxyTo(name, proxy, request, reply),
        });
      }
    }
  }
  ctx.log.info(
    { proxied: remote.map((module) => module.name), registry: proxy.directory !== undefined },
    'gateway: proxying the modules that run elsewhere',
  );
}
