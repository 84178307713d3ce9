import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { badJwts, TEST_JWT_SECRET, validJwt } from '../../../test/support/module-testing.js';
import { type HttpApp, loadConfig } from '../../kernel/index.js';
import { createHost, jsonObject } from '../../kernel/testing/index.js';
import { usersModule } from './index.js';

const ADMIN = { email: 'Admin@Example.test', password: 'admin-password-1' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

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

const decode = (token: string) => {
  const [header = '', payload = ''] = token.split('.');
  return [
    JSON.parse(Buffer.from(header, 'base64url').toString()),
    JSON.parse(Buffer.from(payload, 'base64url').toString()),
  ];
};

describe('users over HTTP', () => {
  let app: HttpApp;
  let dataDir: string;
  let alice: { id: string; token: string };
  const post = (url: string, payload: unknown, remoteAddress = '127.0.0.1') =>
    app.inject({ method: 'POST', url, payload: payload as object, remoteAddress });
  const me = (authorization?: string) =>
    app.inject({ method: 'GET', url: '/users/me', headers: authorization ? { authorization } : {} });
  const written = () => JSON.stringify([usersDb(app).users(), usersDb(app).registered()]);

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'users-e2e-'));
    app = await startApp(dataDir, ADMIN);
  });
  afterAll(async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates the configured admin at start and publishes user-registered for it', () => {
    expect(usersDb(app).users()).toMatchObject([{ email: 'admin@example.test', role: 'admin' }]);
    expect(usersDb(app).registered()).toEqual([
      {
        userId: expect.stringMatching(UUID),
        email: 'admin@example.test',
        name: 'Administrator',
        role: 'admin',
      },
    ]);
  });

  it('registers a user: 201 {id, email, name}, a salted scrypt hash, and users.user-registered', async () => {
    const response = await post('/auth/register', {
      email: 'Alice@Example.test',
      password: 'alice-secret',
      name: 'Alice',
    });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toEqual({ id: expect.stringMatching(UUID), email: 'alice@example.test', name: 'Alice' });
    const row = usersDb(app)
      .users()
      .find((u) => u.email === 'alice@example.test');
    expect(row?.role).toBe('user');
    expect(row?.password_hash).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(usersDb(app).registered().at(-1)).toEqual({
      userId: body.id,
      email: 'alice@example.test',
      name: 'Alice',
      role: 'user',
    });
    alice = { id: body.id, token: '' };
  });

  it('refuses an email already taken, compared lower-cased: 409 USERS_EMAIL_TAKEN, nothing written', async () => {
    const before = written();
    const response = await post('/auth/register', {
      email: 'ALICE@example.TEST',
      password: 'other-secret',
      name: 'Eve',
    });
    expect(response.statusCode).toBe(409);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ status: 409, code: 'USERS_EMAIL_TAKEN' });
    expect(written()).toBe(before);
  });

  it('logs in with an HS256 token that expires in expiresIn seconds; /users/me answers the account', async () => {
    const response = await post(
      '/auth/login',
      { email: 'alice@EXAMPLE.test', password: 'alice-secret' },
      '10.0.0.1',
    );
    expect(response.statusCode).toBe(200);
    const { token, expiresIn } = response.json();
    expect(expiresIn).toBe(3600);
    const [header, claims] = decode(token);
    expect(header.alg).toBe('HS256');
    expect(claims).toMatchObject({ sub: alice.id, role: 'user' });
    expect(claims.exp - claims.iat).toBe(3600);
    alice.token = token;
    const profile = await me(`Bearer ${token}`);
    expect(profile.statusCode).toBe(200);
    expect(profile.json()).toEqual({
      id: alice.id,
      email: 'alice@example.test',
      name: 'Alice',
      role: 'user',
    });
  });

  it('answers a wrong password and an unknown email alike: 401 USERS_INVALID_CREDENTIALS', async () => {
    const [wrong, unknown] = await Promise.all([
      post('/auth/login', { email: 'alice@example.test', password: 'not-her-secret' }, '10.0.0.2'),
      post('/auth/login', { email: 'nobody@example.test', password: 'alice-secret' }, '10.0.0.2'),
    ]);
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ status: 401, code: 'USERS_INVALID_CREDENTIALS' });
    expect(unknown.json()).toEqual(wrong.json());
  });

  it('logs the configured admin in with role admin', async () => {
    const response = await post(
      '/auth/login',
      { email: 'admin@example.test', password: ADMIN.password },
      '10.0.0.3',
    );
    expect(response.statusCode).toBe(200);
    const profile = await me(`Bearer ${response.json().token}`);
    expect(profile.json()).toMatchObject({
      email: 'admin@example.test',
      name: 'Administrator',
      role: 'admin',
    });
  });

  it('answers /users/me with 401 without a valid token, and 404 for an account that no longer exists', async () => {
    expect((await me()).statusCode).toBe(401);
    for (const [name, token] of Object.entries(badJwts({ sub: alice.id, role: 'user' }))) {
      const response = await me(`Bearer ${token}`);
      expect(response.statusCode, name).toBe(401);
      expect(response.json(), name).toMatchObject({ code: 'AUTH_INVALID_TOKEN' });
    }
    expect((await me(`Basic ${alice.token}`)).statusCode).toBe(401);
    const gone = await me(`Bearer ${validJwt({ sub: 'deleted-user', role: 'user' })}`);
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ code: 'USERS_NOT_FOUND' });
  });

  it('answers every bad register or login body with 400 problem+json and writes nothing', async () => {
    const before = written();
    const notString = fc.oneof(
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.string()),
      jsonObject(),
    );
    const valid = { email: 'new@example.test', password: 'long-enough', name: 'New' };
    const field = fc.constantFrom('email', 'password', 'name');
    const badRegister = fc.oneof(
      field.chain((key) => notString.map((value) => ({ ...valid, [key]: value }))),
      field.map((key) => Object.fromEntries(Object.entries(valid).filter(([k]) => k !== key))),
      fc.string({ maxLength: 7 }).map((password) => ({ ...valid, password })),
      fc
        .string()
        .filter((s) => !s.includes('@'))
        .map((email) => ({ ...valid, email })),
      fc.constant({ ...valid, name: '' }),
      fc.record({ role: fc.constant('admin') }).map((extra) => ({ ...valid, ...extra })),
    );
    const badLogin = fc.oneof(
      fc.record({ email: notString, password: fc.constant('whatever!') }),
      fc.record({ email: fc.constant('alice@example.test'), password: notString }),
      fc.constant({ email: 'alice@example.test' }),
      fc.record({
        email: fc.constant('alice@example.test'),
        password: fc.constant('alice-secret'),
        remember: fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)),
      }),
    );
    // all from one address: a bad body is refused before any limit counts it (never a 429)
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          badRegister.map((b) => ['/auth/register', b] as const),
          badLogin.map((b) => ['/auth/login', b] as const),
        ),
        async ([url, body]) => {
          const response = await post(url, body, '10.1.0.1');
          expect(response.statusCode, `${url} ${JSON.stringify(body)}`).toBe(400);
          expect(response.headers['content-type']).toContain('application/problem+json');
          expect(response.json()).toMatchObject({ status: 400, code: 'HTTP_VALIDATION' });
        },
      ),
      { numRuns: 200 },
    );
    expect(written()).toBe(before);
  });
});
