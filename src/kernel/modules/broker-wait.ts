import { type Config, redactUrl, redactUrls } from '../config.js';
import type { Transport, TransportHealth } from '../messaging/transport.js';
import type { Logger } from '../observability/logger.js';
import { within } from '../time.js';

const POLL_MS = 100;
/** A line per this much waiting while start waits (the first one after it, so a broker that answers at once logs nothing)… */
const LOG_EVERY_MS = 1000;
/** …and per this much once the process serves without its bus: an outage of hours stays readable. */
const LOG_EVERY_LATER_MS = 10_000;
const HEALTH_TIMEOUT_MS = 3000;

/** The broker a transport talks to, for log lines and readiness details (password redacted). */
export interface Broker {
  /** `RabbitMQ` or `Redis`. */
  readonly name: string;
  /** The variable that points at it: `AMQP_URL` or `REDIS_URL`. */
  readonly variable: string;
  /** Its URL (the node list of a RabbitMQ cluster, comma separated), the password shown as `***`. */
  readonly url: string;
}

/** The broker of `transport`; undefined on memory, which has none. */
export function brokerOf(transport: Transport, config: Config): Broker | undefined {
  if (transport.name === 'memory') return undefined;
  return transport.name === 'rabbitmq'
    ? { name: 'RabbitMQ', variable: 'AMQP_URL', url: redactUrls(config.amqpUrls) }
    : { name: 'Redis', variable: 'REDIS_URL', url: redactUrl(config.redisUrl) };
}

/** The transport's health, bounded: a health check that hangs counts as no answer. */
export const healthOf = (transport: Transport): Promise<TransportHealth> =>
  within(
    transport.health().catch((error: unknown) => ({ ok: false, detail: String(error) })),
    HEALTH_TIMEOUT_MS,
    () => ({ ok: false, detail: 'no answer to the health check' }),
  );

export interface BrokerWaitOptions {
  /** Ends the wait, rejecting with the signal's reason (the kernel stops). */
  readonly signal?: AbortSignal;
  /** One waiting line per second this long (the wait of `Kernel.start`), then one per 10 s. */
  readonly closelyForMs?: number;
}

/**
 * Waits, with no deadline, until the transport's broker answers: a warning line per second of
 * waiting (per 10 s after `closelyForMs`) naming the broker, its URL and its variable, and an info
 * line when it answers after such a line. A permanent refusal (bad login, missing vhost, unusable
 * URL) rejects at once with its own error instead: no wait mends it. Resolves at once on memory,
 * which has no broker.
 */
export async function waitForBroker(
  transport: Transport,
  config: Config,
  log: Logger,
  { signal, closelyForMs = 0 }: BrokerWaitOptions = {},
): Promise<void> {
  const broker = brokerOf(transport, config);
  if (!broker) return;
  const startedAt = Date.now();
  let attempt = 0;
  let nextLog = startedAt + LOG_EVERY_MS;
  for (;;) {
    signal?.throwIfAborted();
    const health = await healthOf(transport);
    signal?.throwIfAborted();
    if (health.permanent) throw health.permanent;
    const now = Date.now();
    if (health.ok) {
      if (attempt > 0) log.info(`${broker.name} at ${broker.url} answers after ${now - startedAt} ms`);
      return;
    }
    if (now >= nextLog) {
      attempt++;
      const elapsed = now - startedAt;
      nextLog = now + (elapsed < closelyForMs ? LOG_EVERY_MS : LOG_EVERY_LATER_MS);
      log.warn(
        `waiting for ${broker.name} at ${broker.url} (attempt ${attempt}, ${Math.round(elapsed / 1000)} s so far; set ${broker.variable}): ${health.detail ?? 'down'}`,
      );
    }
    await pause(POLL_MS, signal);
  }
}

/** Waits `ms`, or less when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
