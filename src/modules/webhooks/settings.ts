import type { SettingsReader } from '../../kernel/index.js';

/** Defaults of the module's settings (README "Configuration"). */
export const DEFAULT_WEBHOOKS_PER_USER_MAX = 20;
export const DEFAULT_IN_FLIGHT_PER_USER = 4;
export const DEFAULT_IN_FLIGHT_PER_HOST = 4;

export interface WebhooksSettings {
  /**
   * WEBHOOKS_ALLOW_PRIVATE=1: webhooks may target private, loopback and link-local addresses
   * (development and tests only: otherwise a webhook is a way into the internal network).
   */
  readonly allowPrivate: boolean;
  /**
   * WEBHOOKS_PER_USER_MAX: webhooks one user may have; past that, 409 WEBHOOKS_LIMIT_REACHED.
   * Every webhook multiplies each of its owner's events into outgoing POSTs (up to 8 attempts
   * each): without a cap one account turns a 1-cent deposit into hundreds of requests.
   */
  readonly maxWebhooksPerUser: number;
  /**
   * WEBHOOKS_IN_FLIGHT_PER_USER: attempts of one user's deliveries in flight at once, counted
   * over every dispatcher on the database (their leases), so one user's slow or dead targets hold
   * only this many of the slots and the rest go to other users.
   */
  readonly inFlightPerUser: number;
  /**
   * WEBHOOKS_IN_FLIGHT_PER_HOST: attempts to one target host (name and port) in flight at once,
   * over every user and dispatcher: a target that never answers holds this many slots, and many
   * accounts cannot aim the whole dispatcher at one third-party server.
   */
  readonly inFlightPerHost: number;
}

export function readWebhooksSettings(read: SettingsReader): WebhooksSettings {
  return {
    allowPrivate: read.oneOf('WEBHOOKS_ALLOW_PRIVATE', ['0', '1'] as const, '0') === '1',
    maxWebhooksPerUser: read.integer('WEBHOOKS_PER_USER_MAX', DEFAULT_WEBHOOKS_PER_USER_MAX, 1, 1000),
    inFlightPerUser: read.integer('WEBHOOKS_IN_FLIGHT_PER_USER', DEFAULT_IN_FLIGHT_PER_USER, 1, 100),
    inFlightPerHost: read.integer('WEBHOOKS_IN_FLIGHT_PER_HOST', DEFAULT_IN_FLIGHT_PER_HOST, 1, 100),
  };
}
