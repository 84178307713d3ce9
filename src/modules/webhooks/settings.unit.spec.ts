import { describe, expect, it } from 'vitest';
import { ConfigError, readSettings } from '../../kernel/index.js';
import { readWebhooksSettings } from './settings.js';

const settings = (env: Record<string, string>) => readWebhooksSettings(readSettings(env));

describe('webhooks settings', () => {
  it('refuses private targets unless WEBHOOKS_ALLOW_PRIVATE=1', () => {
    expect(settings({}).allowPrivate).toBe(false);
    expect(settings({ WEBHOOKS_ALLOW_PRIVATE: '0' }).allowPrivate).toBe(false);
    expect(settings({ WEBHOOKS_ALLOW_PRIVATE: '1' }).allowPrivate).toBe(true);
  });

  it.each(['yes', 'true', '2'])('rejects WEBHOOKS_ALLOW_PRIVATE=%s naming it', (value) => {
    expect(() => settings({ WEBHOOKS_ALLOW_PRIVATE: value })).toThrow(ConfigError);
    expect(() => settings({ WEBHOOKS_ALLOW_PRIVATE: value })).toThrow(
      `WEBHOOKS_ALLOW_PRIVATE: must be one of 0, 1 (got "${value}")`,
    );
  });

  it('caps webhooks per user and attempts in flight per user and per host, 20 / 4 / 4 by default', () => {
    expect(settings({})).toEqual({
      allowPrivate: false,
      maxWebhooksPerUser: 20,
      inFlightPerUser: 4,
      inFlightPerHost: 4,
    });
    const env = {
      WEBHOOKS_PER_USER_MAX: '3',
      WEBHOOKS_IN_FLIGHT_PER_USER: '6',
      WEBHOOKS_IN_FLIGHT_PER_HOST: '1',
    };
    expect(settings(env)).toMatchObject({ maxWebhooksPerUser: 3, inFlightPerUser: 6, inFlightPerHost: 1 });
  });

  it.each([
    ['WEBHOOKS_PER_USER_MAX', '0', 'from 1 to 1000'],
    ['WEBHOOKS_PER_USER_MAX', 'many', 'from 1 to 1000'],
    ['WEBHOOKS_IN_FLIGHT_PER_USER', '0', 'from 1 to 100'],
    ['WEBHOOKS_IN_FLIGHT_PER_HOST', '1.5', 'from 1 to 100'],
  ])('rejects %s=%s naming it', (variable, value, range) => {
    expect(() => settings({ [variable]: value })).toThrow(
      `${variable}: must be an integer ${range} (got "${value}")`,
    );
  });
});
