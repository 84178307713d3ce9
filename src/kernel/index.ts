/**
 * The kernel's public API: the only kernel file modules import.
 *
 * Guarantees (on every transport): a staged message is published iff its transaction commits;
 * delivery is at least once and the effect exactly once (inbox in the handler's transaction);
 * messages with the same partition key are handled in publish order per consumer; failing handlers
 * are retried (100 ms, 200 ms) and then dead-lettered, without holding back other keys; a handler
 * that finds a dependency down (DependencyUnavailableError) pauses its consumer instead, which
 * takes nothing until the dependency is worth trying again, then starts with that message; data of an
 * older schema version is upcast, and a message of a newer one (from a newer build, during a
 * rolling upgrade) is read as this build's newest when it validates as that, else held for an
 * instance that reads it, never dead-lettered (docs/adr/0015).
 */
export type { AccountState } from './accounts/directory.js';
export { type AccountFeed, accountFeed } from './accounts/feed.js';
export { type Config, ConfigError, loadConfig } from './config.js';
export { readSettings, type SettingsReader } from './env-readers.js';
export { type AuthUser, authenticate, type Role, requireAdmin, TOKEN_TTL_SECONDS } from './http/auth.js';
export { HttpProblem, ProblemSchema, sendProblem } from './http/errors.js';
export { type AsyncApiParts, addDocumentParts, type OpenApiPaths } from './http/openapi.js';
export {
  DEFAULT_PAGE_SIZE,
  type Keyset,
  keyset,
  MAX_PAGE_SIZE,
  mapPage,
  type Page,
  PageOf,
  PageQuery,
  type PageRequest,
  type SortKey,
} from './http/pagination.js';
export { matchesPath } from './http/path-pattern.js';
export { clientKey, type RateCounters, type WindowCount } from './http/rate-counters.js';
export { currentContext } from './messaging/context.js';
export type { DeadLetter, DeadLetterFilter } from './messaging/dead-letters.js';
export type { Envelope, MessageDraft } from './messaging/envelope.js';
export {
  BadMessageError,
  DependencyUnavailableError,
  NewerSchemaVersionError,
  NonRetryableError,
} from './messaging/errors.js';
export {
  type AnyMessageDefinition,
  defineCommand,
  defineEvent,
  isMessage,
  type MessageDefinition,
  type MessageOf,
  type PreviousVersion,
} from './messaging/message-types.js';
export type { RetryPolicy } from './messaging/retry.js';
export {
  type Handler,
  type HandlerContext,
  type MessageHandler,
  on,
  type Subscription,
  type TypedHandler,
} from './messaging/subscription.js';
export type { Transport, TransportName } from './messaging/transport.js';
export { Kernel } from './modules/kernel.js';
export {
  defineModule,
  type HttpApp,
  type ModuleContext,
  type ModuleDefinition,
  type ModuleHttp,
  type PublicRoute,
} from './modules/module.js';
export { perModule } from './modules/per-module.js';
export type { Logger } from './observability/logger.js';
export { currentTraceparent } from './observability/tracing.js';
export type { Tx } from './outbox/outbox.js';
export { WriteConflictError } from './persistence/conflicts.js';
export { DatabaseBusyError, type Db, outsideTransactions } from './persistence/db.js';
export { type KeysetList, keysetList } from './persistence/keyset.js';
export { jsonText } from './persistence/pg-columns.js';
export { preparedOnce, runSql, selectSql } from './persistence/prepared.js';
export {
  defineStoredEvents,
  StoredEventError,
  type StoredEvents,
  type StoredEventType,
} from './persistence/stored-events.js';
export { createServiceDirectory, type ServiceDirectory } from './registry/directory.js';
export type { InstanceStatus, ServiceInstance } from './registry/registry.js';
export {
  type Compensation,
  compensate,
  defineSaga,
  finish,
  ignore,
  nextStep,
  SAGA_STEP_TIMED_OUT,
  type Saga,
  type SagaDecision,
  type SagaDefinition,
  type SagaInstance,
  type SagaProgress,
  undo,
} from './sagas/saga.js';
