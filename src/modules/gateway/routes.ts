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
import { createForwarder, type Forwarder, UpstreamError } from './proxy.js';
import { RemoteDocs } from './remote-docs.js';
import { isIdempotent, isPublicRoute, pathOf, routedModules } from './routing.js';
import type { GatewaySettings } from './settings.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

interface Proxy {
  readonly directory: ServiceDirectory | undefined;
  readonly balancer: Balancer;
  readonly forwarder: Forwarder;
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

/** Sends the request to the module's instances in turn until one answers. */
async function proxyTo(module: string, proxy: Proxy, request: FastifyRequest, reply: FastifyReply) {
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
    try {
      const answer = await proxy.forwarder.forward(request, instance.url, proxy.timeoutMs);
      return reply.status(answer.status).headers(answer.headers).send(answer.body);
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      request.log.warn(
        { module, instance: instance.id, url: instance.url, err: error },
        'gateway: upstream failed',
      );
      if (error.kind === 'timeout') {
        return sendProblem(reply, {
          status: 504,
          code: 'GATEWAY_TIMEOUT',
          title: 'Gateway Timeout',
          detail: `module "${module}" at ${instance.url} did not answer within ${proxy.timeoutMs} ms`,
        });
      }
      const retryable =
        error.kind === 'unreached' || (error.kind === 'broken' && isIdempotent(request.method));
      if (!retryable) {
        return sendProblem(reply, {
          status: 502,
          code: 'GATEWAY_UPSTREAM_FAILED',
          title: 'Bad Gateway',
          detail: `module "${module}" at ${instance.url} failed to answer (${error.message}); the request may have taken effect`,
        });
      }
      proxy.balancer.suspect(instance.id);
      failures.push(`${instance.url}: ${error.message}`);
    }
  }
  return noInstance(reply, module, `${failures.length} tried, none answered (${failures.join('; ')})`);
}

/**
 * The gateway's routes: every route prefix of a module of the build (`ctx.catalogue`) that this
 * process does not run, proxied to that module's live instances; the modules that run here answer
 * directly (their own routes). Bodies pass through unparsed (the body limit still applies).
 */
export function gatewayRoutes(app: HttpApp, ctx: ModuleContext<GatewaySettings>): void {
  const remote = routedModules(ctx.catalogue).filter((module) => !ctx.config.modules.includes(module.name));
  if (remote.length === 0) return; // every module runs here: nothing to proxy
  const proxy: Proxy = {
    directory: createServiceDirectory(ctx.config, ctx.log),
    balancer: new Balancer(),
    forwarder: createForwarder(),
    timeoutMs: ctx.settings.timeoutMs,
  };
  const docs = proxy.directory && new RemoteDocs(proxy.directory, remote, ctx.log);
  if (docs) addDocumentParts(app, { openapi: () => docs.openApi(), asyncapi: () => docs.asyncApi() });
  app.addHook('onClose', async () => {
    await docs?.close();
    proxy.forwarder.close();
    await proxy.directory?.close();
  });
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
