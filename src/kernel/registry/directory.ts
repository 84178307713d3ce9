import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { type ServiceInstance, ServiceRegistry } from './registry.js';

/** What a gateway sees of the registry: the live instances of each module, refreshed by polling. */
export interface ServiceDirectory {
  /** Live instances that run `module` (as of the last refresh), healthy ones first. */
  instancesOf(module: string): readonly ServiceInstance[];
  /** Every live instance (as of the last refresh). */
  all(): readonly ServiceInstance[];
  /** Reads the registry now. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export interface DirectoryOptions {
  /** Poll period (default 1 s): a new instance is routed to within it. */
  readonly pollMs?: number;
}

/**
 * A directory over the Redis registry, or undefined when the registry is off (memory transport
 * without REDIS_URL: nothing to discover). Polls every `pollMs`; keeps the last good snapshot while
 * Redis is away, so routing goes on.
 */
export function createServiceDirectory(
  config: Config,
  log: Logger,
  options: DirectoryOptions = {},
): ServiceDirectory | undefined {
  if (!config.serviceRegistry) return undefined;
  const registry = new ServiceRegistry({ redisUrl: config.redisUrl, namespace: config.busNamespace, log });
  let snapshot: readonly ServiceInstance[] = [];
  let refreshing: Promise<void> | undefined;
  const refresh = (): Promise<void> => {
    refreshing ??= registry
      .list()
      .then(
        (instances) => {
          snapshot = instances;
        },
        () => {}, // the registry logs Redis trouble itself
      )
      .finally(() => {
        refreshing = undefined;
      });
    return refreshing;
  };
  const timer = setInterval(() => void refresh(), options.pollMs ?? 1000);
  timer.unref();
  void refresh();
  return {
    instancesOf: (module) =>
      snapshot
        .filter((instance) => instance.modules.includes(module))
        .sort((a, b) => Number(b.status === 'pass') - Number(a.status === 'pass')),
    all: () => snapshot,
    refresh,
    close: async () => {
      clearInterval(timer);
      await registry.stop();
    },
  };
}
