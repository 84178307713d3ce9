import type { Inbox } from '../inbox/inbox.js';
import type { Logger } from '../observability/logger.js';
import type { KernelMetrics } from '../observability/metrics.js';
import type { Outbox, Tx } from '../outbox/outbox.js';
import type { ModuleDatabase } from '../persistence/db.js';
import { runInContext } from './context.js';
import type { DeadLetterStore } from './dead-letters.js';
import { contextOf, type Envelope } from './envelope.js';
import { errorText, NonRetryableError } from './errors.js';
import type { MessageTypes } from './message-types.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retryDelayMs } from './retry.js';
import { dispatcherOf, messagesOf, type Subscription } from './subscription.js';
import type { ConsumerEndpoint, DeliveryOutcome, Transport, TransportName } from './transport.js';

/** The kernel's side of a consumer endpoint: it also decides which types are routed to it. */
export interface Consumer extends ConsumerEndpoint {
  /** Narrows the routed types to the subscription's `typesAtStart` (before it subscribes). */
  routeAtStart(): void;
  /**
   * Routes these types to the consumer through the transport; resolves once messages of them
   * published from then on reach it. Calls run one after another, and a type is taken as routed
   * only once the transport has routed it, so a failed call leaves nothing half done.
   */
  route(types: readonly string[], transport: Pick<Transport, 'route'>): Promise<void>;
}

export interface ConsumerDeps {
  readonly database: ModuleDatabase;
  readonly messageTypes: MessageTypes;
  readonly inbox: Inbox;
  readonly outbox: Outbox;
  readonly deadLetters: DeadLetterStore;
  readonly log: Logger;
  readonly metrics: KernelMetrics;
  readonly transport: TransportName;
  readonly defaultRetry?: Partial<RetryPolicy>;
}

/** Builds the endpoint a transport delivers to: decode, dedupe, handle, retry or dead-letter. */
export function createConsumer(subscription: Subscription, deps: ConsumerDeps): Consumer {
  const { database, messageTypes, inbox, outbox, deadLetters } = deps;
  const module = database.module;
  const name = subscription.consumer;
  if (!name.startsWith(`${module}.`) || name.length <= module.length + 1) {
    throw new Error(`consumer "${name}" must be named ${module}.<purpose>`);
  }
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...deps.defaultRetry, ...subscription.retry };
  const log = deps.log.child({ consumer: name });
  const handler = dispatcherOf(subscription);

  /**
   * Stores the dead letter and settles the delivery. A decoded message is also marked in the inbox,
   * so a broker redelivery (a lost ack) does not dead-letter it twice; replay clears the mark.
   */
  const deadLetter = (
    raw: string | Buffer,
    attempt: number,
    error: unknown,
    settle?: () => void,
    messageId?: string,
  ) => {
    const text = errorText(error);
    database.writeTransaction(() => {
      deadLetters.add({ consumer: name, module, payload: raw.toString(), error: text, attempts: attempt });
      if (messageId !== undefined && !inbox.has(name, messageId)) inbox.record(name, messageId);
      settle?.();
    });
    log.error({ attempt, error: text }, 'message dead-lettered');
    return { kind: 'dead-lettered', error: text } as const;
  };

  const handle = async (
    envelope: Envelope,
    attempt: number,
    settle?: () => void,
  ): Promise<DeliveryOutcome> => {
    const messageLog = log.child({ type: envelope.type, messageId: envelope.id, attempt });
    if (inbox.has(name, envelope.id)) {
      database.writeTransaction(() => settle?.());
      return { kind: 'duplicate' };
    }
    const result: { outcome: 'pending' | 'committed' | 'duplicate' } = { outcome: 'pending' };
    const transact = (fn: (tx: Tx) => void): boolean => {
      if (result.outcome !== 'pending') throw new Error(`${name}: transact() may run once per delivery`);
      return database.writeTransaction(() => {
        if (inbox.has(name, envelope.id)) {
          result.outcome = 'duplicate';
          settle?.();
          return false;
        }
        fn(outbox.bind(contextOf(envelope)));
        inbox.record(name, envelope.id);
        settle?.();
        result.outcome = 'committed';
        return true;
      });
    };
    try {
      await handler(envelope, { transact, log: messageLog, attempt });
    } catch (error) {
      // Once its transaction has committed, the delivery is done: a retry would be a duplicate,
      // and a dead letter would report a message whose effect happened.
      if (result.outcome === 'pending') throw error;
      messageLog.error({ err: error }, 'handler failed after its transaction committed; not retried');
    }
    if (result.outcome === 'pending') transact(() => {});
    return result.outcome === 'duplicate' ? { kind: 'duplicate' } : { kind: 'handled' };
  };

  const failed = (
    raw: string | Buffer,
    envelope: Envelope,
    attempt: number,
    error: unknown,
    settle?: () => void,
  ): DeliveryOutcome => {
    if (error instanceof NonRetryableError || attempt >= policy.attempts) {
      return deadLetter(raw, attempt, error, settle, envelope.id);
    }
    const delayMs = retryDelayMs(policy, attempt);
    log.warn({ type: envelope.type, messageId: envelope.id, attempt, delayMs, err: error }, 'handler failed');
    return { kind: 'retry', delayMs, error: errorText(error) };
  };

  const measured = (type: string, outcome: DeliveryOutcome): DeliveryOutcome => {
    deps.metrics.handled.inc({ consumer: name, type, outcome: outcome.kind, transport: deps.transport });
    return outcome;
  };

  const handles = messagesOf(subscription).map((m) => m.type);
  const handled = (types: readonly string[]): readonly string[] => {
    const unknown = types.filter((type) => !handles.includes(type));
    if (unknown.length > 0) throw new Error(`${name} does not handle ${unknown.join(', ')}`);
    return types;
  };
  let routed: readonly string[] = handles;
  let routing: Promise<unknown> | undefined; // set once routed at start

  const consumer: Consumer = {
    name,
    module,
    handles,
    get types() {
      return routed;
    },
    routeAtStart() {
      if (subscription.typesAtStart) routed = [...new Set(handled(subscription.typesAtStart()))];
      routing = Promise.resolve();
    },
    route(types, transport) {
      const added = [...new Set(handled(types))];
      if (!routing) throw new Error(`${name} is not subscribed yet: its types are routed from start`);
      const run = routing.then(async () => {
        const missing = added.filter((type) => !routed.includes(type));
        if (missing.length === 0) return;
        routed = [...routed, ...missing]; // first, so a transport that redeclares meanwhile has them
        try {
          await transport.route(consumer, missing);
        } catch (error) {
          routed = routed.filter((type) => !missing.includes(type));
          throw error;
        }
      });
      routing = run.catch(() => {});
      return run;
    },
    concurrency: Math.max(1, subscription.concurrency ?? 1),
    database,
    async deliver(raw, attempt, settle) {
      const started = performance.now();
      let envelope: Envelope;
      try {
        envelope = messageTypes.decode(raw);
      } catch (error) {
        return measured('unknown', deadLetter(raw, attempt, error, settle));
      }
      let outcome: DeliveryOutcome;
      try {
        outcome = await runInContext(contextOf(envelope), () => handle(envelope, attempt, settle));
      } catch (error) {
        outcome = failed(raw, envelope, attempt, error, settle);
      }
      const labels = { consumer: name, type: envelope.type };
      deps.metrics.handlerDuration.observe(labels, (performance.now() - started) / 1000);
      if (outcome.kind === 'handled') {
        deps.metrics.endToEndLatency.observe(
          labels,
          Math.max(0, Date.now() - Date.parse(envelope.time)) / 1000,
        );
      }
      return measured(envelope.type, outcome);
    },
  };
  return consumer;
}
