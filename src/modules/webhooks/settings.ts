import type { SettingsReader } from '../../kernel/index.js';

export interface WebhooksSettings {
  /**
   * WEBHOOKS_ALLOW_PRIVATE=1: webhooks may target private, loopback and link-local addresses
   * (development and tests only: otherwise a webhook is a way into the internal network).
   */
  readonly allowPrivate: boolean;
}

export function readWebhooksSettings(read: SettingsReader): WebhooksSettings {
  return { allowPrivate: read.oneOf('WEBHOOKS_ALLOW_PRIVATE', ['0', '1'] as const, '0') === '1' };
}
