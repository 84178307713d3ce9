import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const modules = ['users', 'orders'];

function failure(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, modules);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({}, modules);
    expect(config).toMatchObject({
      transport: 'memory',
      modules,
      availableModules: modules,
      port: 3000,
      host: '127.0.0.1',
      dataDir: './data',
      redisUrl: 'redis://127.0.0.1:6379',
      amqpUrls: ['amqp://guest:guest@127.0.0.1:5672'],
      rabbitmqQueueType: 'classic',
      logLevel: 'info',
      sagaStepTimeoutMs: 30_000,
      inboxRetentionMs: 7 * 24 * 3_600_000,
      outboxRetentionMs: 10 * 60_000,
      busNamespace: 'modulith',
      busPartitions: 16,
      jwtSecretGenerated: true,
      backpressure: { outboxPendingMax: 10_000, consumerLagMax: 10_000 },
    });
    expect(Buffer.byteLength(config.jwtSecret)).toBeGreaterThanOrEqual(32);
  });

  it('reads every variable', () => {
    const config = loadConfig(
      {
        TRANSPORT: 'rabbitmq',
        MODULES: 'orders',
        PORT: '3101',
        HOST: '0.0.0.0',
        DATA_DIR: '/tmp/x',
        LOG_LEVEL: 'debug',
        JWT_SECRET: 'x'.repeat(32),
        BUS_PARTITIONS: '4',
        INBOX_RETENTION_HOURS: '24',
        OUTBOX_RETENTION_MINUTES: '0',
        BACKPRESSURE_OUTBOX_PENDING_MAX: '500',
        BACKPRESSURE_CONSUMER_LAG_MAX: '0',
      },
      modules,
    );
    expect(config).toMatchObject({
      transport: 'rabbitmq',
      busPartitions: 4,
      inboxRetentionMs: 24 * 3_600_000,
      outboxRetentionMs: 0,
      backpressure: { outboxPendingMax: 500, consumerLagMax: 0 },
      modules: ['orders'],
      availableModules: modules,
      port: 3101,
      host: '0.0.0.0',
      dataDir: '/tmp/x',
      logLevel: 'debug',
      jwtSecretGenerated: false,
    });
  });

  it('keeps a copy of the environment, for the settings of the modules that run', () => {
    const env: Record<string, string> = { MODULES: 'orders', SOME_MODULE_SETTING: 'x' };
    const config = loadConfig(env, modules);
    env.SOME_MODULE_SETTING = 'changed later';
    expect(config.env).toEqual({ MODULES: 'orders', SOME_MODULE_SETTING: 'x' });
  });

  it("leaves the modules' own variables to them (read only where the module runs)", () => {
    const env = { ADMIN_EMAIL: 'a@b.c', GATEWAY_TIMEOUT_MS: '0', WEBHOOKS_ALLOW_PRIVATE: 'yes' };
    const config = loadConfig(env, modules); // invalid for users, gateway, webhooks: not read here
    for (const key of ['adminEmail', 'adminPassword', 'gatewayTimeoutMs', 'webhooksAllowPrivate']) {
      expect(config).not.toHaveProperty(key);
    }
  });

  it('runs a split deployment on a broker: registry, shared rate limits', () => {
    expect(loadConfig({}, modules)).toMatchObject({
      serviceRegistry: false,
      serviceAdvertiseUrl: undefined,
      rateLimitStore: 'memory',
      trustProxy: undefined,
    });
    expect(loadConfig({ TRANSPORT: 'bullmq', JWT_SECRET: 'x'.repeat(32) }, modules)).toMatchObject({
      serviceRegistry: true,
      rateLimitStore: 'redis',
    });
    // memory with REDIS_URL set: the registry (for discovery), counters still in memory
    expect(loadConfig({ REDIS_URL: 'redis://10.0.0.5:6379' }, modules)).toMatchObject({
      serviceRegistry: true,
      rateLimitStore: 'memory',
    });
    expect(
      loadConfig(
        {
          TRANSPORT: 'rabbitmq',
          JWT_SECRET: 'x'.repeat(32),
          SERVICE_REGISTRY: 'off',
          SERVICE_ADVERTISE_URL: 'http://orders:3000',
          RATE_LIMIT_STORE: 'memory',
          TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,::1',
        },
        modules,
      ),
    ).toMatchObject({
      serviceRegistry: false,
      serviceAdvertiseUrl: 'http://orders:3000',
      rateLimitStore: 'memory',
      trustProxy: '127.0.0.1,10.0.0.0/8,::1',
    });
    expect(loadConfig({ SERVICE_REGISTRY: 'on' }, modules).serviceRegistry).toBe(true);
  });

  it('reads AMQP_URL as a comma-separated list of nodes, in order', () => {
    const config = loadConfig(
      {
        AMQP_URL:
          ' amqp://app:s3cret@rabbit-a:5672/shop , amqps://app:s3cret@rabbit-b:5671/shop,amqp://rabbit-c ',
      },
      modules,
    );
    expect(config.amqpUrls).toEqual([
      'amqp://app:s3cret@rabbit-a:5672/shop',
      'amqps://app:s3cret@rabbit-b:5671/shop',
      'amqp://rabbit-c',
    ]);
  });

  it.each([
    [{ TRANSPORT: 'kafka' }, 'TRANSPORT', 'must be one of memory, bullmq, rabbitmq (got "kafka")'],
    [{ MODULES: 'orders,billing' }, 'MODULES', 'unknown module "billing"'],
    [{ MODULES: ' , ' }, 'MODULES', 'names no module'],
    [{ PORT: '70000' }, 'PORT', 'must be an integer'],
    [{ PORT: 'abc' }, 'PORT', 'must be an integer'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET', 'at least 32 bytes'],
    [{ NODE_ENV: 'production' }, 'JWT_SECRET', 'required when NODE_ENV=production'],
    [{ TRANSPORT: 'bullmq' }, 'JWT_SECRET', 'is required on the bullmq transport: every process'],
    [{ TRANSPORT: 'rabbitmq' }, 'JWT_SECRET', 'is required on the rabbitmq transport: every process'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL', 'must start with redis:'],
    [{ AMQP_URL: 'not a url' }, 'AMQP_URL', 'is not a URL'],
    [{ DATABASE_URL: 'mysql://db/shop' }, 'DATABASE_URL', 'must start with postgres:'],
    [{ DATABASE_URL_ORDERS: 'not a url' }, 'DATABASE_URL_ORDERS', 'is not a URL'],
    [{ DATABASE_URL_BILLING: 'postgres://db/x' }, 'DATABASE_URL_BILLING', 'names no module'],
    // the client would refuse these: reported before any connection, the password masked
    [{ AMQP_URL: 'amqp://guest:hidden@127.0.0.1:99999' }, 'AMQP_URL', '"amqp://guest:***@127.0.0.1:99999"'],
    [{ REDIS_URL: 'redis://:hidden@127.0.0.1:99999' }, 'REDIS_URL', '"redis://:***@127.0.0.1:99999"'],
    // a node list: every entry checked, the bad one named by its place, passwords masked
    [
      { AMQP_URL: 'amqp://guest:hidden@10.0.0.1:5672,http://guest:hidden@10.0.0.2:5672' },
      'AMQP_URL',
      'entry 2 of 2 must start with amqp: or amqps: (got "http://guest:***@10.0.0.2:5672")',
    ],
    [
      { AMQP_URL: 'amqp://guest:hidden@10.0.0.1:5672,amqp://guest:hidden@10.0.0.2:99999' },
      'AMQP_URL',
      'entry 2 of 2 is not a URL (got "amqp://guest:***@10.0.0.2:99999")',
    ],
    [{ AMQP_URL: 'amqp://10.0.0.1,,amqp://10.0.0.3' }, 'AMQP_URL', 'entry 2 of 3 is empty'],
    [{ AMQP_URL: 'amqp://10.0.0.1,' }, 'AMQP_URL', 'entry 2 of 2 is empty'],
    [{ REDIS_URL: 'redis://127.0.0.1:6379/cache' }, 'REDIS_URL', 'the path must be a database number'],
    [{ RABBITMQ_QUEUE_TYPE: 'stream' }, 'RABBITMQ_QUEUE_TYPE', 'must be one of classic, quorum'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', 'must be one of'],
    [{ BUS_PARTITIONS: '0' }, 'BUS_PARTITIONS', 'must be an integer from 1 to 256 (got "0")'],
    [{ BUS_PARTITIONS: '257' }, 'BUS_PARTITIONS', 'must be an integer from 1 to 256'],
    [{ BUS_PARTITIONS: '4.5' }, 'BUS_PARTITIONS', 'must be an integer'],
    [{ INBOX_RETENTION_HOURS: '0' }, 'INBOX_RETENTION_HOURS', 'must be an integer from 1 to 87600 (got "0")'],
    [{ INBOX_RETENTION_HOURS: '7d' }, 'INBOX_RETENTION_HOURS', 'must be an integer'],
    [{ OUTBOX_RETENTION_MINUTES: '-1' }, 'OUTBOX_RETENTION_MINUTES', 'must be an integer from 0 to 525600'],
    [{ OUTBOX_RETENTION_MINUTES: '1.5' }, 'OUTBOX_RETENTION_MINUTES', 'must be an integer'],
    [{ SERVICE_REGISTRY: 'maybe' }, 'SERVICE_REGISTRY', 'must be one of auto, on, off'],
    [{ SERVICE_ADVERTISE_URL: 'tcp://x:1' }, 'SERVICE_ADVERTISE_URL', 'must start with http: or https:'],
    [{ RATE_LIMIT_STORE: 'disk' }, 'RATE_LIMIT_STORE', 'must be one of memory, redis'],
    [{ TRUST_PROXY: 'gateway' }, 'TRUST_PROXY', 'must be IP addresses or CIDRs'],
    [{ TRUST_PROXY: '10.0.0.0/33' }, 'TRUST_PROXY', 'must be IP addresses or CIDRs'],
    [
      { BACKPRESSURE_OUTBOX_PENDING_MAX: '-1' },
      'BACKPRESSURE_OUTBOX_PENDING_MAX',
      'must be an integer from 0 to 1000000000 (got "-1")',
    ],
    [{ BACKPRESSURE_CONSUMER_LAG_MAX: 'lots' }, 'BACKPRESSURE_CONSUMER_LAG_MAX', 'must be an integer'],
  ])('rejects %o naming %s', (env, variable, message) => {
    const error = failure(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
    expect(error.message).toContain(message);
    expect(error.message).not.toContain('hidden');
  });

  it('puts every module on DATABASE_URL, one on its own DATABASE_URL_<MODULE>, none on SQLite without', () => {
    expect(loadConfig({}, modules).databases).toEqual({});
    const config = loadConfig(
      { DATABASE_URL: 'postgres://db/shop', DATABASE_URL_ORDERS: 'postgresql://ledger/orders' },
      modules,
    );
    expect(config.databases).toEqual({
      users: { url: 'postgres://db/shop', variable: 'DATABASE_URL' },
      orders: { url: 'postgresql://ledger/orders', variable: 'DATABASE_URL_ORDERS' },
    });
  });
});
