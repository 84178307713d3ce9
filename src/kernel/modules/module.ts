import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { Config } from '../config.js';
import type { Envelope } from '../messaging/envelope.js';
import type { AnyMessageDefinition } from '../messaging/message-types.js';
import type { Subscription } from '../messaging/subscription.js';
import type { Logger } from '../observability/logger.js';
import type { Tx } from '../outbox/outbox.js';
import type { Db } from '../persistence/db.js';
import type { Saga } from '../sagas/saga.js';

/** The fastify instance a module's routes are registered on (TypeBox schemas typed). */
export type HttpApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** What the kernel gives a module: its own database, logger, and transactions with an outbox. */
export interface ModuleContext {
  readonly name: string;
  readonly config: Config;
  readonly log: Logger;
  /** The module's drizzle handle, for reads; write through `transact`. */
  readonly db: Db;
  /**
   * Runs fn in one write transaction (BEGIN IMMEDIATE) of the module's database; messages staged
   * through tx are published iff it commits, carrying the current correlation id (the HTTP
   * request's, or the handled message's). fn must be synchronous.
   */
  transact<T>(fn: (tx: Tx) => T): T;
  /**
   * Routes more types to one of the module's running consumers (see `Subscription.typesAtStart`;
   * each type must be among its messages). Messages of them published after this resolves, by any
   * process, reach the consumer. Commit what needs them only after it resolves.
   */
  routeTypes(consumer: string, types: readonly string[]): Promise<void>;
}

export interface ModuleDefinition {
  /** Lowercase name: its database is `<name>.db`, its tables `<name>_*`, its migrations `migrations/<name>`. */
  readonly name: string;
  /** The messages this module owns (its events, and the commands it accepts). */
  readonly messages?: readonly AnyMessageDefinition[];
  /** Commands of other modules this module sends (so it can stage them wherever their owner runs). */
  readonly sends?: readonly AnyMessageDefinition[];
  readonly routes?: (app: HttpApp, ctx: ModuleContext) => void | Promise<void>;
  readonly subscriptions?: (ctx: ModuleContext) => readonly Subscription[];
  readonly sagas?: readonly Saga[];
  /**
   * Runs in the transaction that stages each message of this module (its events, the commands it
   * sends, its sagas' included), with the envelope as it will be published: a local record of the
   * module's own messages costs no delivery back to itself. Must be synchronous; a throw rolls the
   * transaction back.
   */
  readonly onMessageStaged?: (tx: Tx, message: Envelope) => void;
  /** After migrations, before any message is delivered or published (may stage messages). */
  readonly start?: (ctx: ModuleContext) => void | Promise<void>;
  /** At shutdown, before the kernel drains and closes. */
  readonly stop?: (ctx: ModuleContext) => void | Promise<void>;
}

const MODULE_NAME = /^[a-z][a-z0-9]*$/;

export function defineModule(definition: ModuleDefinition): ModuleDefinition {
  if (!MODULE_NAME.test(definition.name))
    throw new Error(`module name "${definition.name}" must match ${MODULE_NAME}`);
  for (const message of definition.sends ?? []) {
    if (message.kind !== 'command')
      throw new Error(`module ${definition.name} sends ${message.type}, which is not a command`);
  }
  for (const message of definition.messages ?? []) {
    if (message.owner !== definition.name) {
      throw new Error(
        `module ${definition.name} declares ${message.type}, which belongs to ${message.owner}`,
      );
    }
  }
  return definition;
}
