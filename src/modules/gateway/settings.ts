import type { SettingsReader } from '../../kernel/index.js';

export interface GatewaySettings {
  /**
   * GATEWAY_TIMEOUT_MS: how long a proxied request may wait for a connection (then the next
   * instance), for its answer to start (then 504 GATEWAY_TIMEOUT), and, once it streams, between
   * two of its chunks (then it is cut off).
   */
  readonly timeoutMs: number;
}

export function readGatewaySettings(read: SettingsReader): GatewaySettings {
  return { timeoutMs: read.integer('GATEWAY_TIMEOUT_MS', 10_000, 1, 600_000) };
}
