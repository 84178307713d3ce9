import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET } from '../../../test/support/module-testing.js';
import { type HttpApp, loadConfig } from '../../kernel/index.js';
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
      db.all<{ email: string; role: string; password_hash: string }>(
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

describe('the admin account across restarts', () => {
  it('is kept without rehashing, updated when the password changes, and promoted when registered as a user', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'users-admin-'));
    try {
      let app = await startApp(dataDir);
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/auth/register',
            payload: { email: 'boss@example.test', password: 'boss-password', name: 'Boss' },
          })
        ).statusCode,
      ).toBe(201);
      await app.close();

      app = await startApp(dataDir, { email: 'BOSS@example.test', password: 'boss-password' });
      const promoted = usersDb(app).users();
      expect(promoted).toMatchObject([{ email: 'boss@example.test', role: 'admin' }]);
      await app.close();

      app = await startApp(dataDir, { email: 'boss@example.test', password: 'boss-password' });
      expect(usersDb(app).users()).toEqual(promoted); // same hash: not rehashed
      await app.close();

      app = await startApp(dataDir, { email: 'boss@example.test', password: 'new-boss-password' });
      const [updated] = usersDb(app).users();
      expect(updated?.password_hash).not.toBe(promoted[0]?.password_hash);
      const login = await app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: 'boss@example.test', password: 'new-boss-password' },
      });
      expect(login.statusCode).toBe(200);
      expect(usersDb(app).registered()).toEqual([
        { userId: expect.any(String), email: 'boss@example.test', name: 'Boss', role: 'user' },
      ]);
      await app.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
