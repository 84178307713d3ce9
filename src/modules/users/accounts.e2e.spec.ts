/**
 * Tokens that outlive their account's state, over HTTP with the users module alone (real SQLite):
 * a changed password, a changed role and a deleted account refuse every token issued before, in
 * this process as soon as the change answers, and still after a restart; the admin routes that make
 * those changes, and what they refuse.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { craftJwt, TEST_JWT_SECRET } from '../../../test/support/module-testing.js';
import { type HttpApp, loadConfig } from '../../kernel/index.js';
import { createHost } from '../../kernel/testing/index.js';
import { usersModule } from './index.js';
import { AccountsClient, bearer, expectRevoked } from './testing/accounts-client.js';

const ADMIN = { email: 'root@accounts.test', password: 'root-password-1' };
const PASSWORD = 'first-password';

function startApp(dataDir: string): Promise<HttpApp> {
  const env = {
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    JWT_SECRET: TEST_JWT_SECRET,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
  };
  return createHost(loadConfig(env, ['users']), { catalogue: [usersModule] });
}

let app: HttpApp;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'users-accounts-'));
  app = await startApp(dataDir);
});
afterAll(async () => {
  await app?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const accounts = new AccountsClient(() => app, 'accounts.test', PASSWORD);
const me = (token: string) => app.inject({ method: 'GET', url: '/users/me', headers: bearer(token) });
/** An admin route of every process (the kernel's): 200 for a current admin token. */
const outbox = (token: string) => app.inject({ method: 'GET', url: '/admin/outbox', headers: bearer(token) });

const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;

function accountEvents(): unknown[] {
  const db = app.kernel.modules.find((m) => m.definition.name === 'users')?.context.db;
  if (!db) throw new Error('users is not running');
  return db
    .all<{ envelope: string }>(
      sql`SELECT envelope FROM kernel_outbox WHERE type = 'users.account-changed' ORDER BY seq`,
    )
    .map((row) => JSON.parse(row.envelope).data);
}

describe('tokens against the account they were issued for', () => {
  let root: string;
  beforeAll(async () => {
    root = await accounts.login(ADMIN.email, ADMIN.password);
  });

  it('carries the token version (ver 0 for an account that never changed)', async () => {
    expect(claimsOf(root)).toMatchObject({ role: 'admin', ver: 0 });
  });

  it('promotes and demotes: each change refuses older tokens at once; a demoted admin leaves the admin routes', async () => {
    const bob = await accounts.register('bob');
    const asUser = await accounts.login(bob.email, PASSWORD);
    expect((await outbox(asUser)).statusCode).toBe(403);

    const promoted = await accounts.setRole(root, bob.id, 'admin');
    expect(promoted.statusCode, promoted.body).toBe(200);
    expect(promoted.json()).toEqual({ id: bob.id, email: bob.email, name: 'bob', role: 'admin' });
    expectRevoked(await me(asUser)); // issued before the change
    const asAdmin = await accounts.login(bob.email, PASSWORD);
    expect(claimsOf(asAdmin)).toMatchObject({ role: 'admin', ver: 1 });
    expect((await outbox(asAdmin)).statusCode).toBe(200);

    expect((await accounts.setRole(root, bob.id, 'user')).statusCode).toBe(200);
    expectRevoked(await outbox(asAdmin)); // the very next request, no waiting
    expectRevoked(await me(asAdmin));
    const again = await accounts.login(bob.email, PASSWORD);
    expect(claimsOf(again)).toMatchObject({ role: 'user', ver: 2 });
    expect((await outbox(again)).statusCode).toBe(403);
    expect((await me(again)).json()).toMatchObject({ id: bob.id, role: 'user' });

    // the same role again changes nothing: the current token stays good, no event
    const events = accountEvents().length;
    expect((await accounts.setRole(root, bob.id, 'user')).statusCode).toBe(200);
    expect((await me(again)).statusCode).toBe(200);
    expect(accountEvents()).toHaveLength(events);
    expect(accountEvents().slice(-2)).toEqual([
      { userId: bob.id, role: 'admin', tokenVersion: 1, deleted: false },
      { userId: bob.id, role: 'user', tokenVersion: 2, deleted: false },
    ]);
  });

  it('changes a password: every older token is refused, the answer carries a new one', async () => {
    const carol = await accounts.register('carol');
    const [first, second] = [
      await accounts.login(carol.email, PASSWORD),
      await accounts.login(carol.email, PASSWORD),
    ];

    const wrong = await accounts.changePassword(first, 'not-her-password', 'second-password');
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json()).toMatchObject({ code: 'USERS_WRONG_PASSWORD' });
    expect((await me(first)).statusCode).toBe(200); // nothing changed

    const changed = await accounts.changePassword(first, PASSWORD, 'second-password');
    expect(changed.statusCode, changed.body).toBe(200);
    const { token, expiresIn } = changed.json();
    expect(expiresIn).toBe(3600);
    expect(claimsOf(token)).toMatchObject({ sub: carol.id, role: 'user', ver: 1 });
    expectRevoked(await me(first));
    expectRevoked(await me(second));
    expect((await me(token)).statusCode).toBe(200);

    const old = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: carol.email, password: PASSWORD },
    });
    expect(old.json()).toMatchObject({ code: 'USERS_INVALID_CREDENTIALS' });
    expect(claimsOf(await accounts.login(carol.email, 'second-password'))).toMatchObject({ ver: 1 });
  });

  it('deletes an account: its tokens are refused, its email is free again', async () => {
    const dave = await accounts.register('dave');
    const token = await accounts.login(dave.email, PASSWORD);
    const deleted = await accounts.remove(root, dave.id);
    expect(deleted.statusCode, deleted.body).toBe(204);
    expectRevoked(await me(token));
    expect(accountEvents().at(-1)).toEqual({ userId: dave.id, role: 'user', tokenVersion: 1, deleted: true });
    const refused = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: dave.email, password: PASSWORD },
    });
    expect(refused.statusCode).toBe(401);
    expect((await accounts.remove(root, dave.id)).json()).toMatchObject({
      status: 404,
      code: 'USERS_NOT_FOUND',
    });
    const anew = await accounts.register('dave'); // a new account, a new id
    expect(anew.id).not.toBe(dave.id);
    expect((await me(await accounts.login(anew.email, PASSWORD))).statusCode).toBe(200);
  });

  it('refuses what an admin should not do: own account, the configured admin, non-admins, bad bodies', async () => {
    const erin = await accounts.register('erin');
    expect((await accounts.setRole(root, erin.id, 'admin')).statusCode).toBe(200);
    const asErin = await accounts.login(erin.email, PASSWORD);
    const rootId = String(claimsOf(root).sub);

    for (const response of [
      await accounts.setRole(root, rootId, 'user'), // own account
      await accounts.remove(root, rootId),
      await accounts.setRole(asErin, rootId, 'user'), // ADMIN_EMAIL's account
      await accounts.remove(asErin, rootId),
    ]) {
      expect(response.statusCode).toBe(409);
      expect(response.json()).toMatchObject({ code: 'USERS_ACCOUNT_PROTECTED' });
    }
    expect((await outbox(root)).statusCode).toBe(200); // still an admin, token still good

    const frank = await accounts.register('frank');
    const asFrank = await accounts.login(frank.email, PASSWORD);
    expect((await accounts.setRole(asFrank, erin.id, 'user')).json()).toMatchObject({
      code: 'AUTH_ADMIN_ONLY',
    });
    expect((await accounts.remove(asFrank, erin.id)).statusCode).toBe(403);
    expect((await accounts.setRole(root, erin.id, 'owner')).json()).toMatchObject({
      code: 'HTTP_VALIDATION',
    });
    expect((await accounts.setRole(root, 'no-such-id', 'user')).json()).toMatchObject({
      code: 'USERS_NOT_FOUND',
    });
    const anonymous = await app.inject({ method: 'DELETE', url: `/users/${frank.id}` });
    expect(anonymous.statusCode).toBe(401);
  });

  it('refuses a token whose version claim is not a count', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const ver of [-1, 1.5, '0', null]) {
      const token = craftJwt({ sub: 'someone', role: 'user', ver, iat: now, exp: now + 600 });
      const response = await me(token);
      expect(response.statusCode, String(ver)).toBe(401);
      expect(response.json()).toMatchObject({ code: 'AUTH_INVALID_TOKEN' });
    }
  });

  it('still refuses them after a restart: the copy of the account versions is in the database', async () => {
    const gina = await accounts.register('gina');
    const token = await accounts.login(gina.email, PASSWORD);
    expect((await accounts.remove(root, gina.id)).statusCode).toBe(204);
    await app.close();
    app = await startApp(dataDir);
    expectRevoked(await me(token));
    expect((await me(root)).statusCode).toBe(200); // unchanged accounts keep their tokens
  });
});
