import { type Config, ConfigError, redactUrl } from '../config.js';
import type { Transport, TransportHealth } from '../messaging/transport.js';
import type { Logger } from '../observability/logger.js';
import { within } from '../time.js';

/** How long a process waits at start for its broker before failing (naming AMQP_URL or REDIS_URL). */
export const DEFAULT_BROKER_WAIT_MS = 30_000;
const POLL_MS = 100;
/** A line per this much waiting (the first one after it, so a broker that answers at once logs nothing). */
const LOG_EVERY_MS = 1000;
const HEALTH_TIMEOUT_MS = 3000;

const healthOf = (transport: Transport): Promise<TransportHealth> =>
  within(
    transport.health().catch((error: unknown) => ({ ok: false, detail: String(error) })),
    HEALTH_TIMEOUT_MS,
    () => ({ ok: false, detail: 'no answer to the health check' }),
  );

/**
 * Waits until the transport's broker answers, so every process (one without consumers too, such as
 * a gateway) starts only once its bus works: one warning line per second of waiting, then a
 * ConfigError naming the variable when `windowMs` has passed. A permanent refusal (bad login,
 * missing vhost, unusable URL) fails at once with its own error instead: no wait mends it.
 * Nothing to wait for on memory.
 */
export async function waitForBroker(
  transport: Transport,
  config: Config,
  log: Logger,
  windowMs = DEFAULT_BROKER_WAIT_MS,
): Promise<void> {
  if (transport.name === 'memory') return;
  const [broker, variable, url] =
    transport.name === 'rabbitmq'
      ? ['RabbitMQ', 'AMQP_URL', config.amqpUrl]
      : ['Redis', 'REDIS_URL', config.redisUrl];
  const startedAt = Date.now();
  const deadline = startedAt + windowMs;
  let attempt = 0;
  let nextLog = startedAt + LOG_EVERY_MS;
  for (;;) {
    const health = await healthOf(transport);
    if (health.permanent) throw health.permanent;
    const now = Date.now();
    if (health.ok) {
      if (attempt > 0) log.info(`${broker} at ${redactUrl(url)} answers after ${now - startedAt} ms`);
      return;
    }
    if (now >= deadline) {
      throw new ConfigError(
        variable,
        `no ${broker} answered at ${redactUrl(url)} within ${Math.round(windowMs / 1000)} s (${health.detail ?? 'down'})`,
      );
    }
    if (now >= nextLog) {
      attempt++;
      nextLog = now + LOG_EVERY_MS;
      log.warn(
        `waiting for ${broker} at ${redactUrl(url)} (attempt ${attempt}, ${Math.ceil((deadline - now) / 1000)} s left; set ${variable}): ${health.detail ?? 'down'}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, deadline - now)));
  }
}
