import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET } from '../../../test/support/module-testing.js';
import { ConfigError, type HttpApp, loadConfig } from '../../kernel/index.js';
import { createHost } from '../../kernel/testing/index.js';
import { usersModule } from './index.js';

async function startApp(dataDir: string, admin?: { email: string; password: string }): Promise<HttpApp> {
  const env = { DATA_DIR: dataDir, LOG_LEVEL: 'silent', JWT_SECRET: TEST_JWT_SECRET };
  const adminEnv = admin ? { ADMIN_EMAIL: admin.email, ADMIN_PASSWORD: admin.password } : {};
  return createHost(loadConfig({ ...env, ...adminEnv }, ['users']), { catalogue: [usersModule] });
}

function usersDb(app: HttpApp) {
  const db = app.kernel.modules.find((m) => m.definition.name === 'users')?.context.db;
  if (!db) throw new Error('users is not running');
  return {
    users: () =>
      db.all<{ email: string; role: string; password_hash: string; token_version: number }>(
        sql`SELECT * FROM users_users ORDER BY email`,
      ),
    registered: () =>
      db
        .all<{ envelope: string }>(
          sql`SELECT envelope FROM kernel_outbox WHERE type = 'users.user-registered' ORDER BY seq`,
        )
        .map((row) => JSON.parse(row.envelope).data),
  };
}

const register = (app: HttpApp, email: string, password: string) =>
  app.inject({ method: 'POST', url: '/auth/register', payload: { email, password, name: 'Boss' } });
const login = (app: HttpApp, email: string, password: string) =>
  app.inject({ method: 'POST', url: '/auth/login', payload: { email, password } });

describe('the admin account across restarts', () => {
  it('is created once, kept without rehashing, and updated when the password changes', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'users-admin-'));
    try {
      let app = await startApp(dataDir, { email: 'boss@example.test', password: 'boss-password' });
      const created = usersDb(app).users();
      expect(created).toMatchObject([{ email: 'boss@example.test', role: 'admin' }]);
      await app.close();

      app = await startApp(dataDir, { email: 'BOSS@example.test', password: 'boss-password' });
      expect(usersDb(app).users()).toEqual(created); // same hash: not rehashed
      const before = (await login(app, 'boss@example.test', 'boss-password')).json().token;
      await app.close();

      app = await startApp(dataDir, { email: 'boss@example.test', password: 'new-boss-password' });
      const [updated] = usersDb(app).users();
      expect(updated?.password_hash).not.toBe(created[0]?.password_hash);
      expect(updated?.token_version).toBe(1); // a new password: tokens issued before are refused
      const me = await app.inject({ url: '/users/me', headers: { authorization: `Bearer ${before}` } });
      expect(me.json()).toMatchObject({ status: 401, code: 'AUTH_TOKEN_REVOKED' });
      expect((await login(app, 'boss@example.test', 'new-boss-password')).statusCode).toBe(200);
      expect(usersDb(app).registered()).toEqual([
        { userId: expect.any(String), email: 'boss@example.test', name: 'Administrator', role: 'admin' },
      ]);
      await app.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('never takes over an account registered as a user: the start stops naming ADMIN_EMAIL', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'users-admin-'));
    try {
      let app = await startApp(dataDir);
      expect((await register(app, 'boss@example.test', 'registrant-password')).statusCode).toBe(201);
      const registered = usersDb(app).users();
      await app.close();

      const refused = await startApp(dataDir, {
        email: 'BOSS@example.test',
        password: 'admin-password',
      }).then(
        (started) => started.close().then(() => undefined),
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(ConfigError);
      expect(refused).toMatchObject({
        variable: 'ADMIN_EMAIL',
        message: expect.stringContaining('belongs to an account registered as a user'),
      });

      app = await startApp(dataDir);
      expect(usersDb(app).users()).toEqual(registered); // still a user, with its own password
      expect((await login(app, 'boss@example.test', 'registrant-password')).statusCode).toBe(200);
      expect((await login(app, 'boss@example.test', 'admin-password')).statusCode).toBe(401);
      await app.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
