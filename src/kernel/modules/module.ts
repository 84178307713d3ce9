import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { AccountFeed } from '../accounts/feed.js';
import type { Config } from '../config.js';
import type { SettingsReader } from '../env-readers.js';
import type { Envelope } from '../messaging/envelope.js';
import type { AnyMessageDefinition } from '../messaging/message-types.js';
import type { Subscription } from '../messaging/subscription.js';
import type { Logger } from '../observability/logger.js';
import type { Tx } from '../outbox/outbox.js';
import type { Db } from '../persistence/db.js';
import type { StoredEvents } from '../persistence/stored-events.js';
import type { Saga } from '../sagas/saga.js';

/** The fastify instance a module's routes are registered on (TypeBox schemas typed). */
export type HttpApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/**
 * What the kernel gives a module: its own database, logger, settings, and transactions with an
 * outbox. `Settings` is what the module's `settings` function returns.
 */
export interface ModuleContext<Settings = unknown> {
  readonly name: string;
  readonly config: Config;
  /** What the module's `settings` returned (undefined without one), read once at start. */
  readonly settings: Settings;
  /** Every module definition the build ships, running in this process or not (a gateway routes to the others). */
  readonly catalogue: readonly ModuleDefinition[];
  readonly log: Logger;
  /**
   * The module's drizzle handle for reads: committed rows only (inside `transact`, read through
   * `tx.db`, which sees the transaction's own writes). Write through `transact`.
   */
  readonly db: Db;
  /**
   * Runs fn in one write transaction of the module's database and resolves with its result once
   * committed (rejects, rolled back, when fn throws). Messages staged through tx are published iff
   * it commits, carrying the current correlation id (the HTTP request's, or the handled
   * message's) and, when traced, the current span as `traceparent` (the request's, or the
   * handler's). fn may await: the module's write transactions run one at a time, and a lock held
   * by another process is waited for on timers, never by blocking the process. A call inside fn is
   * a savepoint of it.
   */
  transact<T>(fn: (tx: Tx) => T | Promise<T>): Promise<T>;
  /**
   * Routes more types to one of the module's running consumers (see `Subscription.typesAtStart`;
   * each type must be among its messages). Messages of them published after this resolves, by any
   * process, reach the consumer. Commit what needs them only after it resolves.
   */
  routeTypes(consumer: string, types: readonly string[]): Promise<void>;
}

/**
 * A route anyone may call without a token. `path` is matched segment by segment; a `:name`
 * segment matches any one non-empty segment (`/inventory/products/:sku` matches
 * `/inventory/products/mug`, not `/inventory/products` nor `/inventory/products/mug/x`).
 */
export interface PublicRoute {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
  readonly path: string;
}

/** Where a module's HTTP routes live, for a gateway that routes to it from another process. */
export interface ModuleHttp {
  /** Each covers itself and the paths under it (`/orders`: `/orders`, `/orders/…`, not `/ordersx`). */
  readonly prefixes: readonly string[];
  /** Routes a gateway lets through without a token; it refuses every other route without one (401). */
  readonly publicRoutes?: readonly PublicRoute[];
}

export interface ModuleDefinition<Settings = unknown> {
  /** Lowercase name: its database is `<name>.db`, its tables `<name>_*`, its migrations `migrations/<name>`. */
  readonly name: string;
  /**
   * Reads the module's own environment variables (from the environment loadConfig read) into
   * `ctx.settings`. Runs once per start, only in a process that runs the module (elsewhere its
   * variables are neither required nor checked), before the process connects to anything or
   * opens a database; a ConfigError it throws stops the start (`Configuration error: VAR: message`).
   */
  readonly settings?: (read: SettingsReader) => Settings;
  /** The module's HTTP prefixes and public routes (none: it has no routes a gateway proxies). */
  readonly http?: ModuleHttp;
  /**
   * Every problem code the module's routes answer with (`<MODULE>_<WHAT>`), and what it means to a
   * caller: served at `/docs/errors`, where each problem's `type` points (a spec checks that every
   * code the module's source throws is here).
   */
  readonly errors?: Readonly<Record<string, string>>;
  /** The messages this module owns (its events, and the commands it accepts). */
  readonly messages?: readonly AnyMessageDefinition[];
  /**
   * Declared by the module that owns the accounts (one per catalogue): its event that carries an
   * account's token state, published whenever the password or role changes or the account is
   * deleted. Every other module keeps a copy of it (consumer `<module>.account-versions`) and every
   * process checks each token against them (docs/adr/0022). Build it with `accountFeed`.
   */
  readonly accounts?: AccountFeed;
  /** Commands of other modules this module sends (so it can stage them wherever their owner runs). */
  readonly sends?: readonly AnyMessageDefinition[];
  /**
   * Registers the module's HTTP routes. Their POST, PUT, PATCH and DELETE requests are refused
   * with 503 `HTTP_BACKPRESSURE` while this process is too far behind (README "Backpressure"),
   * unless a route says `config: { backpressure: false }` (one that feeds no work: sign-in).
   */
  readonly routes?: (app: HttpApp, ctx: ModuleContext<Settings>) => void | Promise<void>;
  /**
   * The module's durable consumers. Plain data (a handler reaches the running module through
   * `ctx.module`), so a process that does not run the module still knows which types each
   * consumer takes, and provisions their queues before it publishes any.
   */
  readonly subscriptions?: readonly Subscription<ModuleContext<Settings>>[];
  readonly sagas?: readonly Saga[];
  /**
   * The events the module stores (an event-sourced aggregate's), with their schema versions:
   * declared here so that `npm run check:schemas` holds them to the same compatibility policy as
   * messages (docs/adr/0015), since instances of old and new builds share the module's database.
   */
  readonly storedEvents?: StoredEvents;
  /**
   * Runs in the transaction that stages each message of this module (its events, the commands it
   * sends, its sagas' included), with the envelope as it will be published: a local record of the
   * module's own messages costs no delivery back to itself. Must be synchronous; a throw rolls the
   * transaction back.
   */
  readonly onMessageStaged?: (tx: Tx, message: Envelope) => void | Promise<void>;
  /** After migrations, before any message is delivered or published (may stage messages). */
  readonly start?: (ctx: ModuleContext<Settings>) => void | Promise<void>;
  /** At shutdown, before the kernel drains and closes. */
  readonly stop?: (ctx: ModuleContext<Settings>) => void | Promise<void>;
}

const MODULE_NAME = /^[a-z][a-z0-9]*$/;

/** A prefix: `/` and lowercase segments, no trailing slash. */
const PREFIX = /^(\/[a-z0-9][a-z0-9-]*)+$/;

/**
 * Checks a module's definition and erases its settings type for the catalogue (as defineSaga
 * does): the kernel hands each hook the value the module's own `settings` returned, so the hooks
 * see the type they were written against.
 */
export function defineModule<Settings = undefined>(definition: ModuleDefinition<Settings>): ModuleDefinition {
  if (!MODULE_NAME.test(definition.name))
    throw new Error(`module name "${definition.name}" must match ${MODULE_NAME}`);
  if (definition.http) checkHttp(definition.name, definition.http);
  for (const message of definition.sends ?? []) {
    if (message.kind !== 'command')
      throw new Error(`module ${definition.name} sends ${message.type}, which is not a command`);
  }
  if (definition.storedEvents && definition.storedEvents.module !== definition.name) {
    throw new Error(
      `module ${definition.name} declares the stored events of ${definition.storedEvents.module}`,
    );
  }
  const feed = definition.accounts?.message;
  if (feed && !(definition.messages ?? []).includes(feed)) {
    throw new Error(`module ${definition.name}: its account feed ${feed.type} is not among its messages`);
  }
  for (const message of definition.messages ?? []) {
    if (message.owner !== definition.name) {
      throw new Error(
        `module ${definition.name} declares ${message.type}, which belongs to ${message.owner}`,
      );
    }
  }
  return definition as unknown as ModuleDefinition;
}

function checkHttp(module: string, http: ModuleHttp): void {
  for (const prefix of http.prefixes) {
    if (!PREFIX.test(prefix))
      throw new Error(`module ${module}: HTTP prefix "${prefix}" must match ${PREFIX}`);
  }
  for (const route of http.publicRoutes ?? []) {
    const covered = http.prefixes.some(
      (prefix) => route.path === prefix || route.path.startsWith(`${prefix}/`),
    );
    if (!covered) {
      throw new Error(
        `module ${module}: public route ${route.method} ${route.path} is under none of its prefixes`,
      );
    }
  }
}
