import type { AnyMessageDefinition, Envelope } from '../../kernel/index.js';
import * as inventory from '../inventory/contracts.js';
import * as notifications from '../notifications/contracts.js';
import * as orders from '../orders/contracts.js';
import * as payments from '../payments/contracts.js';
import * as users from '../users/contracts.js';

/**
 * The events a webhook may name: every event declared in the other modules' contracts (read from
 * the contracts themselves, so an event added to a contract is offered without a change here; a
 * new module's contracts are added to this list). Commands are requests to one module, not facts
 * about the system: they are never offered.
 */

const isMessageDefinition = (value: unknown): value is AnyMessageDefinition =>
  typeof value === 'function' && 'type' in value && 'kind' in value && 'schema' in value;

const declared: readonly AnyMessageDefinition[] = [inventory, notifications, orders, payments, users]
  .flatMap((contracts) => Object.values(contracts))
  .filter(isMessageDefinition);

/** The module's consumer: it can take every event of the catalogue, and is routed the named ones. */
export const DELIVERIES_CONSUMER = 'webhooks.deliveries';

/** Every event type webhooks can carry. */
export const webhookEvents: readonly AnyMessageDefinition[] = declared.filter((m) => m.kind === 'event');

const eventsByType = new Map(webhookEvents.map((m) => [m.type, m]));
const commandTypes = new Set(declared.filter((m) => m.kind === 'command').map((m) => m.type));

const hasProperty = (schema: unknown, name: string): boolean =>
  typeof schema === 'object' &&
  schema !== null &&
  'properties' in schema &&
  typeof schema.properties === 'object' &&
  schema.properties !== null &&
  name in schema.properties;

/** True for events about one user (their data has a `userId`); false for events about the shop. */
export function isUserEvent(type: string): boolean {
  const definition = eventsByType.get(type);
  return definition !== undefined && hasProperty(definition.schema, 'userId');
}

export type EventTypeProblem = { readonly type: string; readonly reason: 'command' | 'unknown' };

/** The named types that are not events of the catalogue, with why. */
export function unknownEventTypes(types: readonly string[]): EventTypeProblem[] {
  return types
    .filter((type) => !eventsByType.has(type))
    .map((type) => ({ type, reason: commandTypes.has(type) ? 'command' : 'unknown' }));
}

/** The user an event is about: `data.userId` when it is a string. */
export function userIdOf(event: Envelope): string | undefined {
  const data = event.data;
  if (typeof data !== 'object' || data === null || !('userId' in data)) return undefined;
  return typeof data.userId === 'string' ? data.userId : undefined;
}
