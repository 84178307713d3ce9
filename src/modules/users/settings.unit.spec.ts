import { describe, expect, it } from 'vitest';
import { ConfigError, readSettings } from '../../kernel/index.js';
import { readUsersSettings } from './settings.js';

const settings = (env: Record<string, string>) => readUsersSettings(readSettings(env));

function failure(env: Record<string, string>): ConfigError {
  try {
    settings(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('users settings', () => {
  it('seeds no admin without ADMIN_EMAIL and ADMIN_PASSWORD (blank is unset)', () => {
    expect(settings({}).admin).toBeUndefined();
    expect(settings({ ADMIN_EMAIL: ' ', ADMIN_PASSWORD: '' }).admin).toBeUndefined();
  });

  it('seeds the admin when both are set', () => {
    expect(settings({ ADMIN_EMAIL: ' boss@example.test ', ADMIN_PASSWORD: 'boss-password' }).admin).toEqual({
      email: 'boss@example.test',
      password: 'boss-password',
    });
  });

  it('limits failed logins per account and address, per account, per address; sign-ups per address', () => {
    expect(settings({})).toEqual({
      admin: undefined,
      login: { perAccountAndClient: 5, perAccount: 20, perClient: 50, windowMs: 15 * 60_000 },
      register: { perClient: 10, windowMs: 60 * 60_000 },
      hashQueues: { signIn: 100, signUp: 10 },
    });
    const set = settings({
      USERS_LOGIN_FAILURES_PER_ACCOUNT_IP: '3',
      USERS_LOGIN_FAILURES_PER_ACCOUNT: '30',
      USERS_LOGIN_FAILURES_PER_IP: '300',
      USERS_LOGIN_FAILURE_WINDOW_SECONDS: '60',
      USERS_REGISTER_PER_IP: '2',
      USERS_REGISTER_WINDOW_SECONDS: '86400',
      USERS_LOGIN_HASH_QUEUE: '0',
      USERS_REGISTER_HASH_QUEUE: '1',
    });
    expect(set).toMatchObject({
      login: { perAccountAndClient: 3, perAccount: 30, perClient: 300, windowMs: 60_000 },
      register: { perClient: 2, windowMs: 86_400_000 },
      hashQueues: { signIn: 0, signUp: 1 },
    });
  });

  it.each([
    ['USERS_LOGIN_FAILURES_PER_ACCOUNT_IP', '0', 'must be an integer from 1 to 1000000 (got "0")'],
    ['USERS_LOGIN_FAILURES_PER_IP', 'many', 'must be an integer from 1 to 1000000 (got "many")'],
    ['USERS_LOGIN_FAILURE_WINDOW_SECONDS', '1.5', 'must be an integer from 1 to 604800 (got "1.5")'],
    ['USERS_REGISTER_PER_IP', '-1', 'must be an integer from 1 to 1000000 (got "-1")'],
    ['USERS_REGISTER_HASH_QUEUE', '10001', 'must be an integer from 0 to 10000 (got "10001")'],
  ])('rejects %s=%s', (variable, value, message) => {
    const error = failure({ [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message).toBe(`${variable}: ${message}`);
  });

  it.each([
    [{ ADMIN_EMAIL: 'a@b.c' }, 'ADMIN_PASSWORD'],
    [{ ADMIN_PASSWORD: 'secret-password' }, 'ADMIN_EMAIL'],
    [{ ADMIN_EMAIL: 'a@b.c', ADMIN_PASSWORD: '  ' }, 'ADMIN_PASSWORD'],
  ])('rejects %o naming %s', (env, variable) => {
    const error = failure(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toBe(`${variable}: set both ADMIN_EMAIL and ADMIN_PASSWORD, or neither`);
  });
});
