import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Config } from '../config.js';
import { requireAdmin } from '../http/auth.js';
import type { Kernel } from '../modules/kernel.js';
import type { HttpApp } from '../modules/module.js';
import { within } from '../time.js';
import {
  type InstanceDescription,
  newInstanceId,
  type ServiceInstance,
  ServiceRegistry,
} from './registry.js';

const HEALTH_TIMEOUT_MS = 2000;

/** The kernel's readiness checks; a check that does not answer in time counts as failed. */
const healthWithin = (kernel: Kernel, ms: number) =>
  within(kernel.health(), ms, () => ({
    health: { status: 'fail' as const, detail: `no answer within ${ms} ms` },
  }));

/** The base URL this process is reached at: SERVICE_ADVERTISE_URL, else its listener. */
export function advertisedUrl(config: Config, address: AddressInfo | string | null): string {
  if (config.serviceAdvertiseUrl) return config.serviceAdvertiseUrl.replace(/\/+$/, '');
  const port = address !== null && typeof address === 'object' ? address.port : config.port;
  const wildcard = ['0.0.0.0', '::', ''].includes(config.host);
  const host = wildcard ? '127.0.0.1' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** An instance as `GET /admin/services` lists it. */
export type ListedInstance = ServiceInstance & {
  /** True for the process answering. */
  readonly self: boolean;
  readonly heartbeatAgeMs: number;
};

/** The live instances of the deployment, as this process reads them. */
export interface ServiceInstances {
  /**
   * Every live instance (this one included once it listens), sorted by modules and URL; without a
   * registry (memory transport), this process alone. Rejects when the registry does not answer.
   */
  list(): Promise<ListedInstance[]>;
}

/**
 * Registers this process in the service registry once it listens (modules, advertised URL, pid,
 * readiness), heartbeats, and deregisters when the app closes (before HTTP stops, so gateways
 * stop sending here first). `GET /admin/services` 🛡 lists every live instance of the deployment
 * with its health; without a registry (memory transport), this process alone.
 */
export function registerServiceRegistry(app: HttpApp, kernel: Kernel): ServiceInstances {
  const { config } = kernel;
  const registry = config.serviceRegistry
    ? new ServiceRegistry({ redisUrl: config.redisUrl, namespace: config.busNamespace, log: kernel.log })
    : undefined;
  const startedAt = new Date().toISOString();
  const selfId = registry?.id ?? newInstanceId();
  let url: string | undefined;

  const describe = async (): Promise<InstanceDescription> => {
    const checks = await healthWithin(kernel, HEALTH_TIMEOUT_MS);
    // a warning (for example commands nobody here handles) leaves the instance usable
    const ok = Object.values(checks).every((check) => check.status !== 'fail');
    return {
      modules: config.modules,
      url: url ?? advertisedUrl(config, null),
      pid: process.pid,
      host: hostname(),
      transport: kernel.transport.name,
      startedAt,
      status: ok ? 'pass' : 'fail',
      checks,
    };
  };

  app.addHook('onListen', async () => {
    url = advertisedUrl(config, app.server.address());
    registry?.start(describe);
  });
  app.addHook('preClose', async () => {
    await registry?.stop();
  });
  app.addHook('onClose', async () => {
    await registry?.stop(); // closed without ever listening (inject-only apps)
  });

  const list = async (): Promise<ListedInstance[]> => {
    let instances: ServiceInstance[];
    if (registry) instances = await registry.list();
    else if (url) instances = [{ ...(await describe()), id: selfId, heartbeatAt: new Date().toISOString() }];
    else instances = [];
    const now = Date.now();
    return instances
      .map((instance) => ({
        ...instance,
        self: instance.id === selfId,
        heartbeatAgeMs: Math.max(0, now - Date.parse(instance.heartbeatAt)),
      }))
      .sort((a, b) => a.modules.join().localeCompare(b.modules.join()) || a.url.localeCompare(b.url));
  };
  app.get('/admin/services', { onRequest: requireAdmin }, list);
  return { list };
}
