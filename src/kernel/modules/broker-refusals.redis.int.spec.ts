/**
 * A Redis that refuses this process for good (no password where one is required, a wrong one, a
 * database it does not have) fails start at once with the server's reply, naming REDIS_URL,
 * instead of being waited for as an outage; and the refused connections stop reconnecting. On a
 * private redis-server with `--requirepass`, never on the shared Redis.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../config.js';
import { createBullMqTransport } from '../messaging/transports/bullmq/bullmq.js';
import { redisServerMissingReason, TestRedis } from '../messaging/transports/bullmq/testing/private-redis.js';
import { createLogger } from '../observability/logger.js';
import { eventually } from '../testing/index.js';
import { attemptStart } from '../testing/start-attempt.js';

const skip = redisServerMissingReason();
if (skip && process.env.REQUIRE_BROKERS !== '1') console.warn(`[redis refusals] skipped: ${skip}`);

const PASSWORD = `secret-${randomUUID().slice(0, 8)}`;
/** Within the start's wait for the broker: the refusal was not taken for an outage. */
const AT_ONCE_MS = 5000;

describe.skipIf(skip !== undefined && process.env.REQUIRE_BROKERS !== '1')('Redis refusals at start', () => {
  let server: TestRedis | undefined;
  beforeAll(async () => {
    if (skip) throw new Error(`redis-server is required (REQUIRE_BROKERS=1): ${skip}`);
    server = await TestRedis.start({ aof: false, password: PASSWORD });
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
  });

  /** The private server's URL with `credentials` (`user:password`) and `path`. */
  const url = (credentials = '', path = '') =>
    `redis://${credentials ? `${credentials}@` : ''}127.0.0.1:${server?.port ?? 0}${path}`;

  async function refusal(redisUrl: string): Promise<ConfigError> {
    const { error, elapsedMs, lines } = await attemptStart({
      TRANSPORT: 'bullmq',
      REDIS_URL: redisUrl,
      BUS_NAMESPACE: `refusals-${randomUUID().slice(0, 8)}`,
    });
    expect(error).toBeInstanceOf(ConfigError);
    const refused = error as ConfigError;
    expect(refused.variable).toBe('REDIS_URL');
    expect(elapsedMs).toBeLessThan(AT_ONCE_MS);
    expect(lines.filter((line) => line.msg.startsWith('waiting for'))).toEqual([]);
    expect(refused.message).not.toContain(PASSWORD);
    expect(refused.message.split('\n')).toHaveLength(1);
    return refused;
  }

  it('no password: NOAUTH at once', async () => {
    const error = await refusal(url());
    expect(error.message).toMatch(/^REDIS_URL: Redis requires a password and REDIS_URL gives none \(NOAUTH /);
    expect(error.message).toContain(`at redis://127.0.0.1:${server?.port}`);
  });

  it('a wrong password: WRONGPASS at once, the password redacted', async () => {
    const error = await refusal(url(':wrong-password'));
    expect(error.message).toMatch(/^REDIS_URL: Redis refused the user or password \(WRONGPASS /);
    expect(error.message).toContain(`at redis://:***@127.0.0.1:${server?.port}`);
    expect(error.message).not.toContain('wrong-password');
  });

  it('an unknown ACL user with the right password: WRONGPASS at once', async () => {
    const error = await refusal(url(`nobody:${PASSWORD}`));
    expect(error.message).toContain('(WRONGPASS ');
    expect(error.message).toContain('redis://nobody:***@');
  });

  it('a database the server does not have (/99): at once', async () => {
    const error = await refusal(url(`:${PASSWORD}`, '/99'));
    expect(error.message).toMatch(
      /^REDIS_URL: no such database on this Redis \(ERR DB index is out of range\)/,
    );
  });

  it('the right password: starts', async () => {
    const { error } = await attemptStart({ TRANSPORT: 'bullmq', REDIS_URL: url(`:${PASSWORD}`) });
    expect(error).toBeUndefined();
  });

  it('a refused connection stops reconnecting', async () => {
    const transport = createBullMqTransport(createLogger('silent'), { url: url(':wrong-password') });
    const admin = new Redis(url(`:${PASSWORD}`));
    try {
      const refused = await eventually(
        async () => {
          const health = await transport.health();
          expect(health.permanent).toBeInstanceOf(ConfigError);
          return health.permanent;
        },
        { timeoutMs: AT_ONCE_MS, intervalMs: 50 },
      );
      const connections = async () =>
        Number(/total_connections_received:(\d+)/.exec(await admin.info('stats'))?.[1]);
      const before = await connections();
      await new Promise((resolve) => setTimeout(resolve, 1500)); // ioredis retries every 100-2000 ms
      expect(await connections()).toBe(before);
      expect((await transport.health()).permanent).toBe(refused);
    } finally {
      await transport.close();
      admin.disconnect();
    }
  });
});
