import type { Inbox } from '../../inbox/inbox.js';
import type { Logger } from '../../observability/logger.js';
import type { KernelMetrics } from '../../observability/metrics.js';
import type { Outbox } from '../../outbox/outbox.js';
import type { ModuleDatabase } from '../../persistence/db.js';
import type { ConsumerPause } from '../consumer-pause.js';
import type { DeadLetterStore } from '../dead-letters.js';
import type { HeldMessages } from '../held-messages.js';
import type { MessageTypes } from '../message-types.js';
import type { RetryPolicy } from '../retry.js';
import type { Handler } from '../subscription.js';
import type { TransportName } from '../transport.js';

/** The kernel services a consumer is built with (one set per module database). */
export interface ConsumerDeps {
  /** The consumer module's database: inbox, dead letters and the handler's writes live there. */
  readonly database: ModuleDatabase;
  readonly messageTypes: MessageTypes;
  readonly inbox: Inbox;
  readonly outbox: Outbox;
  readonly deadLetters: DeadLetterStore;
  /** The kernel's record of messages held for a newer build (shared by its consumers). */
  readonly held: HeldMessages;
  readonly log: Logger;
  readonly metrics: KernelMetrics;
  readonly transport: TransportName;
  /** The kernel's retry policy, under each subscription's own. */
  readonly defaultRetry?: Partial<RetryPolicy>;
}

/**
 * The consumer a pipeline belongs to, and the kernel services its steps use. Built once per
 * consumer; each step takes the part it needs (`Pick<ConsumerScope, …>`), so its signature says
 * what it depends on.
 */
export interface ConsumerScope extends Omit<ConsumerDeps, 'defaultRetry'> {
  /** The durable consumer's name, `<module>.<purpose>`: the inbox and dead letters key on it. */
  readonly name: string;
  readonly module: string;
  /** The consumer's logger (it carries `consumer`). */
  readonly log: Logger;
  /** The subscription's retry policy over the kernel's default. */
  readonly policy: RetryPolicy;
  /** The handler every delivery of the subscription's types goes to. */
  readonly handler: Handler;
  /** Given to the handler as `ctx.module`: the context of the module running the consumer. */
  readonly moduleContext: unknown;
  /** Whether the consumer takes deliveries: paused while a dependency of its handler is down. */
  readonly pause: ConsumerPause;
}
