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
      port: 3000,
      host: '127.0.0.1',
      dataDir: './data',
      redisUrl: 'redis://127.0.0.1:6379',
      amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
      logLevel: 'info',
      sagaStepTimeoutMs: 30_000,
      jwtSecretGenerated: true,
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
      },
      modules,
    );
    expect(config).toMatchObject({
      transport: 'rabbitmq',
      modules: ['orders'],
      port: 3101,
      host: '0.0.0.0',
      dataDir: '/tmp/x',
      logLevel: 'debug',
      jwtSecretGenerated: false,
    });
  });

  it.each([
    [{ TRANSPORT: 'kafka' }, 'TRANSPORT', 'must be one of memory, bullmq, rabbitmq (got "kafka")'],
    [{ MODULES: 'orders,billing' }, 'MODULES', 'unknown module "billing"'],
    [{ MODULES: ' , ' }, 'MODULES', 'names no module'],
    [{ PORT: '70000' }, 'PORT', 'must be an integer'],
    [{ PORT: 'abc' }, 'PORT', 'must be an integer'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET', 'at least 32 bytes'],
    [{ NODE_ENV: 'production' }, 'JWT_SECRET', 'required when NODE_ENV=production'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL', 'must start with redis:'],
    [{ AMQP_URL: 'not a url' }, 'AMQP_URL', 'is not a URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', 'must be one of'],
    [{ ADMIN_EMAIL: 'a@b.c' }, 'ADMIN_PASSWORD', 'set both'],
  ])('rejects %o naming %s', (env, variable, message) => {
    const error = failure(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
    expect(error.message).toContain(message);
  });
});
