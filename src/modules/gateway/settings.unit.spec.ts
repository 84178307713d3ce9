import { describe, expect, it } from 'vitest';
import { ConfigError, readSettings } from '../../kernel/index.js';
import { readGatewaySettings } from './settings.js';

const settings = (env: Record<string, string>) => readGatewaySettings(readSettings(env));

describe('gateway settings', () => {
  it('waits 10 s for a proxied answer by default, GATEWAY_TIMEOUT_MS otherwise', () => {
    expect(settings({})).toEqual({ timeoutMs: 10_000 });
    expect(settings({ GATEWAY_TIMEOUT_MS: ' ' })).toEqual({ timeoutMs: 10_000 });
    expect(settings({ GATEWAY_TIMEOUT_MS: '2500' })).toEqual({ timeoutMs: 2500 });
    expect(settings({ GATEWAY_TIMEOUT_MS: '600000' })).toEqual({ timeoutMs: 600_000 });
  });

  it.each(['0', '600001', '1.5', 'soon'])('rejects GATEWAY_TIMEOUT_MS=%s naming it', (value) => {
    expect(() => settings({ GATEWAY_TIMEOUT_MS: value })).toThrow(ConfigError);
    expect(() => settings({ GATEWAY_TIMEOUT_MS: value })).toThrow(
      `GATEWAY_TIMEOUT_MS: must be an integer from 1 to 600000 (got "${value}")`,
    );
  });
});
