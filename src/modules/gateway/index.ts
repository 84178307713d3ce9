/**
 * gateway: the single HTTP entry point of a split deployment.
 *
 * - Routes: the routes of every module that does not run in this process, proxied to its live
 *   instances from the service registry (round-robin, healthy first, GATEWAY_TIMEOUT_MS, 503
 *   `GATEWAY_NO_INSTANCE` naming the module when none is up); modules running here answer
 *   directly. Which module answers which path: the `http` prefixes of each module definition of
 *   the build (`ctx.catalogue`, routing.ts). A bearer token is verified at the edge (401 early)
 *   for every proxied route but the public routes the modules declare (register, login, the
 *   product catalogue), and again in the service.
 *   `x-correlation-id` passes through, and `traceparent` names the gateway's request span (the
 *   client's trace continued); `X-Forwarded-For` carries the client's
 *   address. Answers stream to the client (proxy.ts: @fastify/reply-from over undici), never held
 *   whole in memory; a path with `.` or `..` segments answers 404.
 * - `/admin/*`, `/health/*`, `/metrics`: this process's own (every process has them);
 *   `GET /admin/services` lists every instance of the deployment. `/docs`, `/openapi.json` and
 *   `/asyncapi.json` describe the whole system: the proxied modules' routes and messages are read
 *   from their instances (remote-docs.ts).
 * - Publishes, handles, tables, sagas: none.
 */
import { defineModule } from '../../kernel/index.js';
import { gatewayErrors } from './errors.js';
import { gatewayRoutes } from './routes.js';
import { readGatewaySettings } from './settings.js';

export const gatewayModule = defineModule({
  name: 'gateway',
  errors: gatewayErrors,
  settings: readGatewaySettings,
  routes: gatewayRoutes,
});
