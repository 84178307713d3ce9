import { registerAdminRoutes } from './kernel/http/admin-routes.js';
import { registerAsyncApiRoute } from './kernel/http/asyncapi.js';
import { registerBullBoard } from './kernel/http/bull-board.js';
import { registerDashboard } from './kernel/http/dashboard/routes.js';
import { createHttpServer } from './kernel/http/server.js';
import type { HttpApp, ModuleDefinition, RetryPolicy, Transport } from './kernel/index.js';
import { type Config, Kernel } from './kernel/index.js';
import { createTransport } from './kernel/messaging/transports/index.js';
import { readModuleSettings } from './kernel/modules/settings.js';
import { registerObservabilityRoutes } from './kernel/observability/health.js';
import { createLogger, type Logger } from './kernel/observability/logger.js';
import { registerServiceRegistry } from './kernel/registry/http.js';
import { analyticsModule } from './modules/analytics/index.js';
import { gatewayModule } from './modules/gateway/index.js';
import { inventoryModule } from './modules/inventory/index.js';
import { notificationsModule } from './modules/notifications/index.js';
import { ordersModule } from './modules/orders/index.js';
import { paymentsModule } from './modules/payments/index.js';
import { usersModule } from './modules/users/index.js';
import { webhooksModule } from './modules/webhooks/index.js';

/**
 * The composition root: every module this build ships. `MODULES` picks which of them a process
 * runs; they reach each other only through the bus, so any subset works in any process.
 */
export const moduleCatalogue: readonly ModuleDefinition[] = [
  usersModule,
  inventoryModule,
  paymentsModule,
  ordersModule,
  notificationsModule,
  analyticsModule,
  webhooksModule,
  gatewayModule,
];

export interface AppOptions {
  /** Replaces the catalogue (tests run fixture modules). */
  readonly modules?: readonly ModuleDefinition[];
  readonly transport?: Transport;
  readonly log?: Logger;
  readonly retry?: Partial<RetryPolicy>;
}

declare module 'fastify' {
  interface FastifyInstance {
    kernel: Kernel;
  }
}

/**
 * Builds a ready fastify app: databases migrated, consumers subscribed, relays running, routes
 * registered. `app.close()` stops HTTP, then drains handlers and relays and closes the databases.
 */
export async function buildApp(config: Config, options: AppOptions = {}): Promise<HttpApp> {
  const log = options.log ?? createLogger(config.logLevel);
  const catalogue = options.modules ?? moduleCatalogue;
  const modules = catalogue.filter((module) => config.modules.includes(module.name));
  const settings = readModuleSettings(config, modules); // a ConfigError before anything connects
  const kernel = new Kernel({
    config,
    modules,
    catalogue,
    settings,
    transport: options.transport ?? (await createTransport(config, log)),
    log,
    ...(options.retry ? { retry: options.retry } : {}),
  });
  const app = await createHttpServer(log, config);
  app.decorate('kernel', kernel);
  app.addHook('onClose', () => kernel.stop());
  registerObservabilityRoutes(app, kernel);
  registerAdminRoutes(app, kernel);
  registerDashboard(app, kernel);
  registerAsyncApiRoute(app, kernel);
  registerServiceRegistry(app, kernel);
  try {
    await kernel.start();
  } catch (error) {
    await app.close().catch(() => {}); // stops the kernel and closes the app's Redis connections
    throw error;
  }
  await registerBullBoard(app, kernel.transport);
  for (const { definition, context } of kernel.modules) {
    const routes = definition.routes;
    if (routes) await app.register(async (scope) => routes(scope, context));
  }
  await app.ready();
  return app;
}
