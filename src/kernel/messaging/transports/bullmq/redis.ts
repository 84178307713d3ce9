import { Redis, type RedisOptions } from 'ioredis';
import { ConfigError, redactUrl } from '../../../config.js';
import type { Logger } from '../../../observability/logger.js';
import { within } from '../../../time.js';
import { invalidUrlCause, permanentCause } from './refusals.js';

const retryStrategy = (times: number) => Math.min(100 * times, 2000);

/**
 * The two connections of the transport. `worker`: maxRetriesPerRequest null and an offline
 * queue, as BullMQ workers require (commands wait through a reconnect); each Worker duplicates
 * it for its blocking fetch. `publisher`: no offline queue, so publish fails fast while Redis is
 * away and the outbox keeps the rows.
 */
export function openConnections(url: string, name: string, log: Logger): { worker: Redis; publisher: Redis } {
  const common: RedisOptions = { retryStrategy, connectionName: name };
  const worker = connection(url, { ...common, maxRetriesPerRequest: null });
  // BullMQ duplicates this connection for each Worker's blocking fetch and drops its own error
  // listener when the Worker closes, while a reconnect attempt may still report: without a
  // listener, ioredis prints "Unhandled error event". The Worker logs these errors while open.
  const duplicate = worker.duplicate.bind(worker);
  worker.duplicate = (override) => {
    const copy = duplicate(override);
    copy.on('error', () => {});
    return copy;
  };
  const publisher = connection(url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  for (const [role, redis] of [
    ['worker', worker],
    ['publisher', publisher],
  ] as const) {
    let lastLog = 0;
    redis.on('error', (error: Error) => {
      if (Date.now() - lastLog < 5000) return;
      lastLog = Date.now();
      log.warn({ err: error, role, redis: redactUrl(url) }, 'redis connection error');
    });
  }
  return { worker, publisher };
}

/** Why a connection was stopped before it was ever ready, for good (see `connection`). */
const refusals = new WeakMap<Redis, ConfigError>();

/** The permanent refusal of one of `connections`, if any: start fails with it at once. */
export function refusalOf(...connections: readonly Redis[]): ConfigError | undefined {
  for (const redis of connections) {
    const refused = refusals.get(redis);
    if (refused) return refused;
  }
  return undefined;
}

/**
 * A connection to `url` that stops reconnecting on a permanent refusal before its first ready
 * (refusals.ts), recording it as a ConfigError naming REDIS_URL. Once it was ready it always
 * reconnects: a running process outlives a password rotation that is finished a little late.
 */
function connection(url: string, options: RedisOptions): Redis {
  let redis: Redis;
  try {
    redis = new Redis(url, options);
  } catch (error) {
    throw new ConfigError('REDIS_URL', `${invalidUrlCause(error)} at ${redactUrl(url)}`);
  }
  let readyOnce = false;
  redis.once('ready', () => {
    readyOnce = true;
  });
  redis.on('error', (error: Error) => {
    const cause = readyOnce || refusals.has(redis) ? undefined : permanentCause(error);
    if (cause === undefined) return;
    refusals.set(redis, new ConfigError('REDIS_URL', `${cause} at ${redactUrl(url)}`));
    redis.disconnect(); // a manual disconnect: ioredis schedules no further attempt
  });
  return redis;
}

/**
 * Resolves when every connection is ready; a ConfigError naming REDIS_URL after `timeoutMs`, or
 * at once when one was refused for good.
 */
export async function waitUntilReady(
  connections: readonly Redis[],
  url: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const redis of connections) {
    while (redis.status !== 'ready' || refusals.has(redis)) {
      const refused = refusals.get(redis);
      if (refused) throw refused;
      if (redis.status === 'end') throw new Error('the Redis connection is closed');
      if (Date.now() >= deadline) {
        throw new ConfigError(
          'REDIS_URL',
          `Redis at ${redactUrl(url)} did not answer within ${Math.round(timeoutMs / 1000)} s`,
        );
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          redis.off('ready', done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(250, Math.max(1, deadline - Date.now())));
        redis.once('ready', done);
      });
    }
  }
}

/** Zero loss on BullMQ needs Redis persistence: one clear warning when AOF is off. */
export async function checkPersistence(redis: Redis, url: string, log: Logger): Promise<void> {
  try {
    const reply = (await redis.call('CONFIG', 'GET', 'appendonly')) as string[];
    if (reply[1] === 'yes') return;
    log.warn(
      { redis: redactUrl(url) },
      'Redis runs without AOF persistence (appendonly no): a Redis restart loses queued messages; ' +
        'run it with --appendonly yes --appendfsync everysec|always for zero loss (see README)',
    );
  } catch (error) {
    log.info(
      { err: error, redis: redactUrl(url) },
      'could not read the Redis AOF setting (CONFIG GET refused)',
    );
  }
}

/** Quits politely, then cuts the connection if Redis does not answer. */
export async function closeConnection(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status === 'ready') {
    await within(
      redis.quit().catch(() => {}),
      1000,
      () => undefined,
    );
  }
  redis.disconnect();
}

/**
 * The replies of a pipeline or MULTI, in order, or the first error among them: ioredis resolves
 * `exec` with each command's error in its reply instead of rejecting, so a caller that only
 * awaits `exec` would take a refused command for a done one.
 */
export function repliesOrThrow(replies: [Error | null, unknown][] | null, expected?: number): unknown[] {
  if (!replies || (expected !== undefined && replies.length !== expected)) {
    throw new Error(`Redis answered ${replies?.length ?? 'no'} replies for ${expected ?? 'the'} commands`);
  }
  return replies.map(([error, result]) => {
    if (error) throw error;
    return result;
  });
}
