import { createHost } from './kernel/host/create-host.js';
import type { Config, HttpApp, ModuleDefinition } from './kernel/index.js';
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

/** One process of the application: the modules `config.modules` names, ready to listen. */
export function buildApp(config: Config): Promise<HttpApp> {
  return createHost(config, { catalogue: moduleCatalogue });
}
