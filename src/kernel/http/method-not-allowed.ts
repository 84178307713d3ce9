import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem } from './errors.js';
import { matchesPath } from './path-pattern.js';

/**
 * fastify answers a method a path has no route for with 404 (its router is per method). RFC 9110
 * asks for 405 with `allow` naming the methods the path has: the routes are recorded as they are
 * registered, and the not-found handler asks them before it answers 404.
 */
export function recordRoutesForAllow(
  app: FastifyInstance,
): (request: FastifyRequest, reply: FastifyReply) => FastifyReply {
  const routes: { readonly methods: readonly string[]; readonly url: string }[] = [];
  app.addHook('onRoute', (route) => {
    routes.push({ methods: [route.method].flat().map((m) => m.toUpperCase()), url: route.url });
  });
  return (request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = [
      ...new Set(routes.filter((r) => matchesPath(r.url, path)).flatMap((r) => r.methods)),
    ].sort();
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendProblem(reply, {
        status: 405,
        code: 'HTTP_METHOD_NOT_ALLOWED',
        detail: `${request.method} is not allowed on ${path} (allowed: ${allowed.join(', ')})`,
      });
    }
    return sendProblem(reply, {
      status: 404,
      code: 'HTTP_NOT_FOUND',
      detail: `no route ${request.method} ${request.url}`,
    });
  };
}
