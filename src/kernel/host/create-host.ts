import type { Config } from '../config.js';
import { registerAdminRoutes } from '../http/admin-routes.js';
import { registerAsyncApiRoute } from '../http/asyncapi.js';
import { refuseWhenBehind } from '../http/backpressure.js';
import { registerBullBoard } from '../http/bull-board.js';
import { registerDashboard } from '../http/dashboard/routes.js';
import { registerErrorDocs } from '../http/error-docs.js';
import { registerIndexRoute } from '../http/index-route.js';
import { createHttpServer } from '../http/server.js';
import type { RetryPolicy } from '../messaging/retry.js';
import type { Transport } from '../messaging/transport.js';
import { createTransport } from '../messaging/transports/index.js';
import type { BackpressureOptions } from '../modules/backpressure.js';
import { Kernel } from '../modules/kernel.js';
import type { HttpApp, ModuleDefinition } from '../modules/module.js';
import { readModuleSettings } from '../modules/settings.js';
import { registerObservabilityRoutes } from '../observability/health.js';
import { createLogger, type Logger, wantsPrettyLogs } from '../observability/logger.js';
import { startTracingSdk } from '../observability/tracing-sdk.js';
import { registerServiceRegistry } from '../registry/http.js';

export interface HostOptions {
  /**
   * Every module this build ships (the application's catalogue, or a spec's fixtures).
   * `config.modules` picks the ones this process runs; the others run elsewhere.
   */
  readonly catalogue: readonly ModuleDefinition[];
  /** Default: the transport `config.transport` names, connected here. */
  readonly transport?: Transport;
  readonly log?: Logger;
  /** Default retry policy of every consumer (specs shorten the delays). */
  readonly retry?: Partial<RetryPolicy>;
  /** How backpressure samples the backlogs (specs sample faster); the bounds come from `config`. */
  readonly backpressure?: BackpressureOptions;
}

declare module 'fastify' {
  interface FastifyInstance {
    kernel: Kernel;
  }
}

/**
 * The host: one process of the application, ready to listen. Wires the kernel (databases migrated,
 * consumers subscribed, relays running; or, when the broker does not answer within a few seconds,
 * serving without the bus until it does: see `Kernel.start` and `Kernel.onFatal`) to the HTTP
 * server with what every process serves (health, metrics, admin API and dashboard, AsyncAPI, the
 * service registry, bull-board on BullMQ) and then each running module's routes, whose
 * state-changing requests are refused (503) while the process is too far behind (backpressure).
 *
 * The running modules' settings are read first: a bad value is a ConfigError naming its variable
 * before anything connects. `app.close()` stops HTTP, then drains handlers and relays and closes
 * the databases, then flushes the spans still buffered when OTEL_EXPORTER_OTLP_ENDPOINT registered
 * the OpenTelemetry SDK. When start fails, whatever was opened is closed before the error is rethrown.
 */
export async function createHost(config: Config, options: HostOptions): Promise<HttpApp> {
  const log =
    options.log ?? createLogger(config.logLevel, { pretty: wantsPrettyLogs(config.nodeEnv, process.stdout) });
  const modules = options.catalogue.filter((module) => config.modules.includes(module.name));
  const settings = readModuleSettings(config, modules); // a ConfigError before anything connects
  const kernel = new Kernel({
    config,
    modules,
    catalogue: options.catalogue,
    settings,
    transport: options.transport ?? (await createTransport(config, log)),
    log,
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.backpressure ? { backpressure: options.backpressure } : {}),
  });
  const app = await createHttpServer(log, config, kernel.accounts);
  app.decorate('kernel', kernel);
  // Registered before the kernel starts, so its first spans are exported; flushed once the
  // kernel has drained its handlers and relays, so their last spans are too.
  const tracing = config.otlpEndpoint ? startTracingSdk(config.otlpEndpoint, config.modules, log) : undefined;
  app.addHook('onClose', async () => {
    try {
      await kernel.stop();
    } finally {
      await tracing?.shutdown();
    }
  });
  registerIndexRoute(app);
  registerErrorDocs(app, options.catalogue);
  registerObservabilityRoutes(app, kernel);
  registerAdminRoutes(app, kernel);
  registerAsyncApiRoute(app, kernel);
  const services = registerServiceRegistry(app, kernel);
  registerDashboard(app, kernel, { services, catalogue: options.catalogue });
  try {
    await kernel.start();
  } catch (error) {
    await app.close().catch(() => {}); // stops the kernel and closes the app's Redis connections
    throw error;
  }
  await registerBullBoard(app, kernel.transport, () => kernel.started);
  for (const { definition, context } of kernel.modules) {
    const routes = definition.routes;
    if (!routes) continue;
    await app.register(async (scope) => {
      // Module routes only: the admin, health and docs routes answer an operator whatever the load.
      refuseWhenBehind(scope, kernel.backpressure, kernel.metrics);
      await routes(scope, context);
    });
  }
  await app.ready();
  return app;
}
