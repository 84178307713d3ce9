import type { Kernel } from '../modules/lifecycle.js';
import type { HttpApp } from '../modules/module.js';

/** `/health/live`: the process answers. `/health/ready`: databases, transport and subscriptions are up. */
export function registerHealthRoutes(app: HttpApp, kernel: Kernel): void {
  app.get('/health/live', async () => ({ status: 'pass', checks: {} }));
  app.get('/health/ready', async (_request, reply) => {
    const checks = await kernel.health();
    const ok = Object.values(checks).every((check) => check.status === 'pass');
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'pass' : 'fail', checks });
  });
}
