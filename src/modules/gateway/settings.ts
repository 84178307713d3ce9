import type { SettingsReader } from '../../kernel/index.js';

export interface GatewaySettings {
  /** How long a proxied request may wait for its answer before 504 GATEWAY_TIMEOUT (GATEWAY_TIMEOUT_MS). */
  readonly timeoutMs: number;
}

export function readGatewaySettings(read: SettingsReader): GatewaySettings {
  return { timeoutMs: read.integer('GATEWAY_TIMEOUT_MS', 10_000, 1, 600_000) };
}
