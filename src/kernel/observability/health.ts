import type { Kernel } from '../modules/kernel.js';
import type { HttpApp } from '../modules/module.js';

/**
 * `/health/live`: the process answers. `/health/ready`: databases, transport and subscriptions are
 * up. `/metrics`: Prometheus text, with HTTP request durations per route.
 */
export function registerObservabilityRoutes(app: HttpApp, kernel: Kernel): void {
  app.addHook('onResponse', async (request, reply) => {
    kernel.metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.type(kernel.metrics.registry.contentType).send(await kernel.renderMetrics()),
  );
  app.get('/health/live', async () => ({ status: 'pass', checks: {} }));
  app.get('/health/ready', async (_request, reply) => {
    const checks = await kernel.health();
    const statuses = new Set(Object.values(checks).map((check) => check.status));
    const status = statuses.has('fail') ? 'fail' : statuses.has('warn') ? 'warn' : 'pass';
    return reply.status(status === 'fail' ? 503 : 200).send({ status, checks });
  });
}
