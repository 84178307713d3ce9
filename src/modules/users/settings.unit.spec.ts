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
    expect(settings({})).toEqual({ admin: undefined });
    expect(settings({ ADMIN_EMAIL: ' ', ADMIN_PASSWORD: '' })).toEqual({ admin: undefined });
  });

  it('seeds the admin when both are set', () => {
    expect(settings({ ADMIN_EMAIL: ' boss@example.test ', ADMIN_PASSWORD: 'boss-password' })).toEqual({
      admin: { email: 'boss@example.test', password: 'boss-password' },
    });
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
