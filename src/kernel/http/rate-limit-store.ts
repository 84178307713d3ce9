import { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';

/** What @fastify/rate-limit needs to keep its counters in Redis, shared by every instance. */
export interface RateLimitRedis {
  readonly redis: Redis;
  readonly nameSpace: string;
  /** Closes the connection (app close). */
  close(): Promise<void>;
}

/**
 * The Redis store of rate-limit counters when `RATE_LIMIT_STORE=redis` (the default on a broker
 * transport), so a limit holds across every instance behind the gateway. Short timeouts and
 * skip-on-error (set by the caller): while Redis is away requests are served, not refused.
 */
export function rateLimitRedis(config: Config, log: Logger): RateLimitRedis | undefined {
  if (config.rateLimitStore !== 'redis') return undefined;
  const redis = new Redis(config.redisUrl, {
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    connectionName: `${config.busNamespace}:rate-limit:${process.pid}`,
    retryStrategy: (times) => Math.min(200 * times, 2000),
  });
  let lastWarning = 0;
  redis.on('error', (error: Error) => {
    if (Date.now() - lastWarning < 30_000) return;
    lastWarning = Date.now();
    log.warn({ err: error }, 'rate-limit store (Redis) unavailable: limits are not enforced meanwhile');
  });
  return {
    redis,
    nameSpace: `${config.busNamespace}:rate-limit:`,
    close: async () => {
      if (redis.status === 'ready') await redis.quit().catch(() => {});
      redis.disconnect();
    },
  };
}
