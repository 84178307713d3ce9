import { describe, expect, it } from 'vitest';
import { ConfigError, readSettings } from '../../kernel/index.js';
import { readOrdersSettings } from './settings.js';

const settings = (env: Record<string, string>) => readOrdersSettings(readSettings(env));

describe('orders settings', () => {
  it('lets a user place 60 orders a minute by default, ORDERS_PER_USER_PER_MINUTE otherwise', () => {
    expect(settings({})).toEqual({ ordersPerUserPerMinute: 60 });
    expect(settings({ ORDERS_PER_USER_PER_MINUTE: ' ' })).toEqual({ ordersPerUserPerMinute: 60 });
    expect(settings({ ORDERS_PER_USER_PER_MINUTE: '5' })).toEqual({ ordersPerUserPerMinute: 5 });
    expect(settings({ ORDERS_PER_USER_PER_MINUTE: '1000000' })).toEqual({
      ordersPerUserPerMinute: 1_000_000,
    });
  });

  it.each(['0', '1000001', '2.5', 'many'])('rejects ORDERS_PER_USER_PER_MINUTE=%s naming it', (value) => {
    expect(() => settings({ ORDERS_PER_USER_PER_MINUTE: value })).toThrow(ConfigError);
    expect(() => settings({ ORDERS_PER_USER_PER_MINUTE: value })).toThrow(
      `ORDERS_PER_USER_PER_MINUTE: must be an integer from 1 to 1000000 (got "${value}")`,
    );
  });
});
