import type { Backpressure } from '../modules/backpressure.js';
import type { HttpApp } from '../modules/module.js';
import type { KernelMetrics } from '../observability/metrics.js';
import { HttpProblem, ProblemSchema } from './errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * `false`: the route is never refused for backpressure, although its method changes state
     * (sign-in, which reads, and the gateway's proxy, where the process that runs the module decides).
     */
    backpressure?: boolean;
  }
}

/** The methods of commands: what feeds the backlogs. GET, HEAD and OPTIONS always answer. */
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Refuses the state-changing requests of the routes of `scope` (a module's) with 503
 * `HTTP_BACKPRESSURE` and `retry-after` while `backpressure` says this process is too far behind.
 * onRequest: decided before authentication and body parsing, from memory, so a refusal costs
 * next to nothing when the process has the least to spare.
 */
export function refuseWhenBehind(scope: HttpApp, backpressure: Backpressure, metrics: KernelMetrics): void {
  if (!backpressure.enabled) return;
  // The OpenAPI document says so: every route that can be refused lists the 503 it may answer.
  scope.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    const response = route.schema?.response;
    if (route.config?.backpressure === false || !methods.some((method) => STATE_CHANGING.has(method))) return;
    if (typeof response !== 'object' || response === null || '503' in response) return;
    route.schema = { ...route.schema, response: { ...response, 503: ProblemSchema } };
  });
  scope.addHook('onRequest', async (request) => {
    if (!STATE_CHANGING.has(request.method) || request.routeOptions.config.backpressure === false) return;
    const refusal = backpressure.admit();
    if (!refusal) return;
    metrics.httpShed.inc({ reason: refusal.reason });
    throw new HttpProblem(503, 'HTTP_BACKPRESSURE', refusal.detail, {
      retryAfterSeconds: refusal.retryAfterSeconds,
    });
  });
}
