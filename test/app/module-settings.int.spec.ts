/**
 * A module's settings are read when, and only when, the process runs the module: before anything
 * connects, so a bad value stops the start with one ConfigError naming the variable.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp, moduleCatalogue } from '../../src/app.js';
import { ConfigError, loadConfig } from '../../src/kernel/index.js';

const names = moduleCatalogue.map((module) => module.name);
const root = mkdtempSync(join(tmpdir(), 'module-settings-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('module settings at start', () => {
  it('stops a process running the gateway on GATEWAY_TIMEOUT_MS=0, before connecting or opening anything', async () => {
    const dataDir = join(root, 'gateway');
    // A stand-in Redis that counts connections: the bullmq transport would connect to it at once.
    let connections = 0;
    const redis = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => redis.listen(0, '127.0.0.1', resolve));
    const address = redis.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const env = {
      MODULES: 'users,gateway',
      TRANSPORT: 'bullmq',
      REDIS_URL: `redis://127.0.0.1:${address.port}`,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      GATEWAY_TIMEOUT_MS: '0',
      JWT_SECRET: 'x'.repeat(32),
    };
    try {
      const error = await buildApp(loadConfig(env, names)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect(error).toMatchObject({
        variable: 'GATEWAY_TIMEOUT_MS',
        message: 'GATEWAY_TIMEOUT_MS: must be an integer from 1 to 600000 (got "0")',
      });
      await new Promise((resolve) => setTimeout(resolve, 300)); // time for a connection to arrive
      expect(connections).toBe(0);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      await new Promise((resolve) => redis.close(resolve));
    }
  });

  it('neither requires nor checks the settings of modules the process does not run', async () => {
    const unread = { GATEWAY_TIMEOUT_MS: '0', WEBHOOKS_ALLOW_PRIVATE: 'yes' };
    const users = await buildApp(
      loadConfig({ ...unread, MODULES: 'users', DATA_DIR: join(root, 'users'), LOG_LEVEL: 'silent' }, names),
    );
    expect(users.kernel.modules.map((m) => m.definition.name)).toEqual(['users']);
    await users.close();

    const halfAdmin = { ADMIN_EMAIL: 'admin@example.test', WEBHOOKS_ALLOW_PRIVATE: 'yes' };
    const gateway = await buildApp(
      loadConfig(
        { ...halfAdmin, MODULES: 'gateway', DATA_DIR: join(root, 'gw'), LOG_LEVEL: 'silent' },
        names,
      ),
    );
    expect(gateway.kernel.modules.map((m) => m.definition.name)).toEqual(['gateway']);
    await gateway.close();
  });

  it('hands each running module its own settings, read from the environment loadConfig got', async () => {
    const env = {
      MODULES: 'users,gateway,webhooks',
      DATA_DIR: join(root, 'three'),
      LOG_LEVEL: 'silent',
      GATEWAY_TIMEOUT_MS: '2500',
      WEBHOOKS_ALLOW_PRIVATE: '1',
    };
    const app = await buildApp(loadConfig(env, names));
    try {
      const settings = Object.fromEntries(
        app.kernel.modules.map((m) => [m.definition.name, m.context.settings]),
      );
      expect(settings).toEqual({
        users: expect.objectContaining({ admin: undefined }),
        gateway: { timeoutMs: 2500 },
        webhooks: expect.objectContaining({ allowPrivate: true }),
      });
    } finally {
      await app.close();
    }
  });
});
