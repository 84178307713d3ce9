import type { SettingsReader } from '../../kernel/index.js';

/** Orders a user may place per minute when ORDERS_PER_USER_PER_MINUTE is unset. */
export const DEFAULT_ORDERS_PER_USER_PER_MINUTE = 60;

export interface OrdersSettings {
  /**
   * ORDERS_PER_USER_PER_MINUTE: how many orders one user may place in any minute; past that,
   * 429 ORDERS_RATE_LIMITED with retry-after. Placing needs no funds, so without a brake one
   * account could fill the database (and the lists read from it) as fast as it can send.
   */
  readonly ordersPerUserPerMinute: number;
}

export function readOrdersSettings(read: SettingsReader): OrdersSettings {
  return {
    ordersPerUserPerMinute: read.integer(
      'ORDERS_PER_USER_PER_MINUTE',
      DEFAULT_ORDERS_PER_USER_PER_MINUTE,
      1,
      1_000_000,
    ),
  };
}
