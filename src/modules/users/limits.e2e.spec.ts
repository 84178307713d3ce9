/**
 * Sign-in and sign-up limits over HTTP, as a client sees them: failed logins are held per
 * (account, address), per account and per address, successful ones never; sign-ups have their
 * own limit and hashing lane, so a flood of them neither refuses logins nor spends their budgets.
 *
 * Most accounts are stored with a cheap hash (an older cost the app still verifies), so wrong
 * passwords cost little; a successful login upgrades the hash to the full cost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET } from '../../../test/support/module-testing.js';
import { type HttpApp, loadConfig } from '../../kernel/index.js';
import { createHost } from '../../kernel/testing/index.js';
import { insertUser } from './commands/register-user.js';
import { usersModule } from './index.js';
import { DERIVATIONS_AT_ONCE, SIGN_UPS_AT_ONCE } from './password.js';
import { cheapHash } from './testing/cheap-hash.js';

const PASSWORD = 'the-right-password';
const WRONG = 'a-wrong-password';

/** One app of the users module on its own data directory, with these settings. */
function usersApp(env: Record<string, string> = {}) {
  let app: HttpApp;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'users-limits-'));
    const config = loadConfig(
      { DATA_DIR: dataDir, LOG_LEVEL: 'silent', JWT_SECRET: TEST_JWT_SECRET, ...env },
      ['users'],
    );
    app = await createHost(config, { catalogue: [usersModule] });
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    /** An account stored with a hash of cost 2^ln: its email. */
    account(name: string, ln = 4): string {
      const email = `${name}@limits.test`;
      const ctx = app.kernel.modules.find((m) => m.definition.name === 'users')?.context;
      if (!ctx) throw new Error('users is not running');
      ctx.transact((tx) =>
        insertUser(tx.db, { email, name, role: 'user', passwordHash: cheapHash(PASSWORD, ln) }),
      );
      return email;
    },
    login: (email: string, password: string, address: string) =>
      app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email, password },
        remoteAddress: address,
      }),
    register: (
      email: string,
      address: string,
      payload: object = { email, password: PASSWORD, name: 'New' },
    ) => app.inject({ method: 'POST', url: '/auth/register', payload, remoteAddress: address }),
  };
}

/** A 429 problem with a retry-after of at most `windowSeconds`, saying which limit. */
function expectLimited(reply: LightMyRequestResponse, windowSeconds: number, detail: string): void {
  expect(reply.statusCode, reply.body).toBe(429);
  expect(reply.headers['content-type']).toContain('application/problem+json');
  expect(reply.json()).toMatchObject({
    status: 429,
    code: 'HTTP_RATE_LIMITED',
    detail: expect.stringContaining(detail),
  });
  const retryAfter = Number(reply.headers['retry-after']);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
}

const statuses = (replies: readonly LightMyRequestResponse[]) => replies.map((r) => r.statusCode);

async function inTurn(n: number, attempt: (i: number) => Promise<LightMyRequestResponse>) {
  const replies: LightMyRequestResponse[] = [];
  for (let i = 0; i < n; i++) replies.push(await attempt(i));
  return replies;
}

describe('login limits with the default settings', () => {
  const users = usersApp();
  const FIFTEEN_MINUTES = 15 * 60;

  it('lets 20 successful logins from one address through, at once', async () => {
    const email = users.account('office', 17);
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => users.login(email, PASSWORD, '10.0.0.1')),
    );
    expect(statuses(replies)).toEqual(Array(20).fill(200));
  }, 240_000);

  it('holds failed logins per account and address: five 401, then 429 with retry-after, whatever the password', async () => {
    const [bob, carol] = [users.account('bob'), users.account('carol')];
    const failures = await inTurn(5, () => users.login(bob, WRONG, '10.0.1.1'));
    expect(statuses(failures)).toEqual(Array(5).fill(401));
    expectLimited(
      await users.login(bob, WRONG, '10.0.1.1'),
      FIFTEEN_MINUTES,
      'for this account from this address',
    );
    expectLimited(
      await users.login(bob, PASSWORD, '10.0.1.1'),
      FIFTEEN_MINUTES,
      'for this account from this address',
    );
    // another account from the same address, and this account from another address, sign in
    expect((await users.login(carol, PASSWORD, '10.0.1.1')).statusCode).toBe(200);
    expect((await users.login(bob, PASSWORD, '10.0.1.2')).statusCode).toBe(200);
  }, 120_000);

  it('holds a burst of concurrent guesses to the budget: past it, at most one more per other derivation running', async () => {
    const dave = users.account('dave');
    const burst = statuses(
      await Promise.all(Array.from({ length: 12 }, () => users.login(dave, WRONG, '10.0.2.1'))),
    );
    const failed = burst.filter((s) => s === 401).length;
    expect(failed, String(burst)).toBeGreaterThanOrEqual(5);
    expect(failed, String(burst)).toBeLessThanOrEqual(5 + DERIVATIONS_AT_ONCE - 1);
    expect(burst.filter((s) => s === 429)).toHaveLength(12 - failed);
  });
});

describe('login and sign-up limits with small settings', () => {
  const users = usersApp({
    USERS_LOGIN_FAILURES_PER_ACCOUNT_IP: '2',
    USERS_LOGIN_FAILURES_PER_ACCOUNT: '4',
    USERS_LOGIN_FAILURES_PER_IP: '6',
    USERS_LOGIN_FAILURE_WINDOW_SECONDS: '60',
    USERS_LOGIN_HASH_QUEUE: '0',
    USERS_REGISTER_PER_IP: '2',
    USERS_REGISTER_WINDOW_SECONDS: '600',
    USERS_REGISTER_HASH_QUEUE: '1',
  });

  it('forgives earlier slips once the account signs in from that address', async () => {
    const erin = users.account('erin');
    expect((await users.login(erin, WRONG, '10.1.0.1')).statusCode).toBe(401);
    expect((await users.login(erin, PASSWORD, '10.1.0.1')).statusCode).toBe(200);
    const after = await inTurn(2, () => users.login(erin, WRONG, '10.1.0.1'));
    expect(statuses(after)).toEqual([401, 401]);
    expectLimited(await users.login(erin, WRONG, '10.1.0.1'), 60, 'for this account from this address');
  }, 120_000);

  it('counts failures spread over addresses against one account: past the per-account limit, 429 from any address', async () => {
    const frank = users.account('frank');
    const failures = await inTurn(4, (i) => users.login(frank, WRONG, `10.1.1.${i + 1}`));
    expect(statuses(failures)).toEqual([401, 401, 401, 401]);
    expectLimited(await users.login(frank, WRONG, '10.1.1.9'), 60, 'for this account');
    expectLimited(await users.login(frank, PASSWORD, '10.1.1.9'), 60, 'for this account');
    // the address itself is not held: another account from it still gets an answer
    expect((await users.login(users.account('grace'), WRONG, '10.1.1.9')).statusCode).toBe(401);
  });

  it('counts failures from one address over many accounts: past the per-address ceiling, 429 for any account', async () => {
    const accounts = Array.from({ length: 7 }, (_, i) => users.account(`sprayed-${i}`));
    const failures = await inTurn(6, (i) => users.login(accounts[i] ?? '', WRONG, '10.1.2.1'));
    expect(statuses(failures)).toEqual(Array(6).fill(401));
    expectLimited(await users.login(accounts[6] ?? '', WRONG, '10.1.2.1'), 60, 'from this address');
    expect((await users.login(accounts[6] ?? '', WRONG, '10.1.2.2')).statusCode).toBe(401);
  });

  it('does not count a 503 USERS_BUSY (hashing full) as a failed attempt', async () => {
    // a hash that takes a while (2^14), so that the four attempts overlap; no sign-in queue (0)
    const ivy = users.account('ivy', 14);
    const burst = await Promise.all([1, 2, 3, 4].map((i) => users.login(ivy, WRONG, `10.1.3.${i}`)));
    const busy = burst.filter((r) => r.statusCode === 503);
    expect(busy.length, String(statuses(burst))).toBeGreaterThan(0);
    for (const reply of busy) {
      expect(reply.json()).toMatchObject({ code: 'USERS_BUSY' });
      expect(reply.headers['retry-after']).toBe('1');
    }
    const failed = burst.filter((r) => r.statusCode === 401).length;
    expect(failed + busy.length).toBe(4);
    // the account's budget (4) lost only the attempts that compared a password
    const rest = await inTurn(4 - failed, (i) => users.login(ivy, WRONG, `10.1.3.${10 + i}`));
    expect(statuses(rest)).toEqual(Array(4 - failed).fill(401));
    expectLimited(await users.login(ivy, WRONG, '10.1.3.20'), 60, 'for this account');
  });

  it('limits sign-ups per address: past the limit, 429 with retry-after (taken emails count, bad bodies do not)', async () => {
    expect((await users.register('first@limits.test', '10.2.0.1')).statusCode).toBe(201);
    expect((await users.register('first@limits.test', '10.2.0.1', { email: 'x' })).statusCode).toBe(400);
    expect((await users.register('first@limits.test', '10.2.0.1')).statusCode).toBe(409);
    expectLimited(
      await users.register('second@limits.test', '10.2.0.1'),
      600,
      'too many sign-ups from this address',
    );
    expect((await users.register('first@limits.test', '10.2.0.2')).statusCode).toBe(409);
  }, 120_000);

  it('keeps logins answering through a sign-up flood larger than the sign-up queue, and refunds the refused sign-ups', async () => {
    const [jill, kate] = [users.account('jill'), users.account('kate')];
    const flood = Array.from({ length: 12 }, (_, i) =>
      users.register(`flood-${i}@limits.test`, `10.3.0.${i + 1}`),
    );
    // once one is refused, the sign-up lane is full: the accepted sign-ups hash (a full-cost hash each)
    await new Promise<void>((resolve) => {
      for (const reply of flood) void reply.then((r) => r.statusCode === 503 && resolve());
    });
    const logins = [users.login(jill, PASSWORD, '10.3.1.1'), users.login(kate, PASSWORD, '10.3.1.1')];
    expect(statuses(await Promise.all(logins))).toEqual([200, 200]);
    const signUps = await Promise.all(flood);
    const created = signUps.filter((r) => r.statusCode === 201).length;
    const refused = signUps.filter((r) => r.statusCode === 503);
    expect(created).toBeGreaterThan(0);
    expect(created).toBeLessThanOrEqual(SIGN_UPS_AT_ONCE + 1); // running, and the one queued (USERS_REGISTER_HASH_QUEUE=1)
    expect(refused).toHaveLength(12 - created);
    expect(refused[0]?.json()).toMatchObject({
      code: 'USERS_BUSY',
      detail: 'too many sign-ups at once; try again shortly',
    });
    // a refused address has its whole sign-up budget (2) left
    const address = `10.3.0.${signUps.findIndex((r) => r.statusCode === 503) + 1}`;
    const again = await inTurn(2, (i) => users.register(`again-${i}@limits.test`, address));
    expect(statuses(again)).toEqual([201, 201]);
  }, 180_000);
});
