import { describe, expect, it } from 'vitest';
import { ConfigError, readSettings } from '../../kernel/index.js';
import { readWebhooksSettings } from './settings.js';

const settings = (env: Record<string, string>) => readWebhooksSettings(readSettings(env));

describe('webhooks settings', () => {
  it('refuses private targets unless WEBHOOKS_ALLOW_PRIVATE=1', () => {
    expect(settings({})).toEqual({ allowPrivate: false });
    expect(settings({ WEBHOOKS_ALLOW_PRIVATE: '0' })).toEqual({ allowPrivate: false });
    expect(settings({ WEBHOOKS_ALLOW_PRIVATE: '1' })).toEqual({ allowPrivate: true });
  });

  it.each(['yes', 'true', '2'])('rejects WEBHOOKS_ALLOW_PRIVATE=%s naming it', (value) => {
    expect(() => settings({ WEBHOOKS_ALLOW_PRIVATE: value })).toThrow(ConfigError);
    expect(() => settings({ WEBHOOKS_ALLOW_PRIVATE: value })).toThrow(
      `WEBHOOKS_ALLOW_PRIVATE: must be one of 0, 1 (got "${value}")`,
    );
  });
});
