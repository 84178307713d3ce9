import { AccountCopies } from '../accounts/copies.js';
import { AccountDirectory } from '../accounts/directory.js';
import { accountFeedOf } from '../accounts/feed.js';
import type { Config } from '../config.js';
import {
  keyset,
  MAX_PAGE_SIZE,
  mergedPage,
  mergeSorted,
  type Page,
  type PageRequest,
} from '../http/pagination.js';
import { createInbox, type Inbox } from '../inbox/inbox.js';
import { type Consumer, type ConsumerDeps, createConsumer } from '../messaging/consumer.js';
import type { PauseState } from '../messaging/consumer-pause.js';
import { currentOrNewContext } from '../messaging/context.js';
import {
  createDeadLetterStore,
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterGroup,
  type DeadLetterStore,
  deadLetterKey,
} from '../messaging/dead-letters.js';
import { type HeldByConsumer, HeldMessages } from '../messaging/held-messages.js';
import { MessageTypes } from '../messaging/message-types.js';
import type { RetryPolicy } from '../messaging/retry.js';
import { messagesOf } from '../messaging/subscription.js';
import type { Transport } from '../messaging/transport.js';
import type { Logger } from '../observability/logger.js';
import { KernelMetrics } from '../observability/metrics.js';
import { createOutbox } from '../outbox/outbox.js';
import { OutboxRelay, type OutboxStats, type RelayOptions } from '../outbox/relay.js';
import { type Checkpointer, checkpointInBackground } from '../persistence/checkpointer.js';
import type { ModuleDatabase } from '../persistence/db.js';
import { openConfiguredDatabase } from '../persistence/open.js';
import { Pruner, type PrunerOptions } from '../persistence/pruner.js';
import { BusOutages } from '../sagas/bus-outages.js';
import { SagaCoordinator } from '../sagas/coordinator.js';
import { createSagaStore, type SagaListing, type SagaStore, sagaKey } from '../sagas/store.js';
import { Backpressure, type BackpressureOptions } from './backpressure.js';
import { BusConnection, type BusState, DEFAULT_BROKER_WAIT_MS } from './bus-connection.js';
import type { ModuleContext, ModuleDefinition } from './module.js';
import { type ModuleSettings, readModuleSettings } from './settings.js';
import { catalogueTopology } from './topology.js';
import { unhandledCommands } from './unhandled-commands.js';

const deadLetterPages = keyset('dead-letters', ['integer', 'string']);
const sagaPages = keyset('sagas', ['integer', 'string', 'string']);

export interface KernelOptions {
  readonly config: Config;
  /** The modules this process runs. */
  readonly modules: readonly ModuleDefinition[];
  /** Every module the build ships, given to each module as `ctx.catalogue` (default: `modules`). */
  readonly catalogue?: readonly ModuleDefinition[];
  /**
   * The running modules' settings, when read before the transport was made (readModuleSettings);
   * otherwise the constructor reads them.
   */
  readonly settings?: ModuleSettings;
  readonly transport: Transport;
  readonly log: Logger;
  readonly retry?: Partial<RetryPolicy>;
  readonly relay?: Partial<RelayOptions>;
  /** Overrides the pruner's timing, and the retentions of the config (tests use short ones). */
  readonly pruner?: Partial<PrunerOptions>;
  /**
   * How long start waits for the broker before it resolves without the bus, which then connects in
   * the background (default 5 s).
   */
  readonly brokerWaitMs?: number;
  /** How backpressure samples the backlogs (specs sample faster); the bounds are `config.backpressure`. */
  readonly backpressure?: BackpressureOptions;
}

interface ModuleRuntime {
  readonly definition: ModuleDefinition;
  readonly context: ModuleContext;
  readonly database: ModuleDatabase;
  readonly relay: OutboxRelay;
  readonly pruner: Pruner;
  readonly deadLetters: DeadLetterStore;
  readonly inbox: Inbox;
  readonly sagaStore: SagaStore;
  readonly coordinator: SagaCoordinator;
  readonly consumers: Consumer[];
}

export interface ConsumerDescription {
  readonly name: string;
  readonly module: string;
  /** Every type it handles (some may not be routed to it yet: see `Subscription.typesAtStart`). */
  readonly types: readonly string[];
}

export interface HealthCheck {
  /** `warn`: up, but something an operator should know (readiness still answers 200). */
  readonly status: 'pass' | 'warn' | 'fail';
  readonly detail?: string;
}

/**
 * One kernel per app: the modules of this process, their databases, outboxes, consumers and
 * sagas, on one transport. Start order: migrate every database, run the modules' start hooks,
 * wait for the broker, subscribe every consumer, then start the relays and saga coordinators (so
 * nothing is published before its in-process consumers listen, no message reaches a module before
 * its start hook has run, and no saga step times out while nothing can be delivered).
 * A broker that does not answer within `brokerWaitMs` is waited for while the process serves
 * (bus-connection.ts): start resolves, commands wait in the outbox, readiness fails naming the
 * broker, and the rest of the start runs once it answers.
 * Stop order: the background connection, module hooks, relays and pruners, transport (drains
 * handlers), checkpointer, then each module's saga timers and database. While running, the
 * transport's connection is sampled (BusOutages): saga step deadlines do not run while it is down.
 * Each database's pruner (persistence/pruner.ts) starts with its relay and keeps its inbox and
 * outbox to their retention.
 */
export class Kernel {
  readonly messageTypes = new MessageTypes();
  readonly metrics = new KernelMetrics();
  /** Messages this process's consumers hold for a newer build (a newer schema version). */
  readonly heldMessages = new HeldMessages();
  /** What this process knows of the accounts whose tokens it checks (docs/adr/0022). */
  readonly accounts = new AccountDirectory();
  /** Whether this process takes more commands, from its backlogs (README "Backpressure"). */
  readonly backpressure: Backpressure;
  readonly config: Config;
  readonly transport: Transport;
  readonly log: Logger;
  readonly #options: KernelOptions;
  readonly #runtimes: ModuleRuntime[] = [];
  readonly #settings: ModuleSettings;
  #started = false;
  /** Commands this process may send that nobody handles (memory transport only). */
  #unhandled: readonly string[] = [];
  #stopping: Promise<void> | undefined;
  #checkpointer: Checkpointer | undefined;
  readonly #bus: BusConnection;
  /** This process's bus outages, which saga step deadlines do not count. */
  readonly #outages: BusOutages;
  /** Keeps `accounts` from its modules' copies, when a module of the catalogue owns accounts. */
  readonly #accountCopies: AccountCopies | undefined;
  readonly #accountOwner: string | undefined;

  /** Throws the ConfigError of a running module whose settings are invalid (nothing started yet). */
  constructor(options: KernelOptions) {
    this.#options = options;
    this.#settings = options.settings ?? readModuleSettings(options.config, options.modules);
    this.config = options.config;
    this.transport = options.transport;
    this.log = options.log;
    this.#bus = new BusConnection({
      transport: options.transport,
      config: options.config,
      log: options.log,
      startWaitMs: options.brokerWaitMs ?? DEFAULT_BROKER_WAIT_MS,
    });
    this.#outages = new BusOutages(() => options.transport.connected());
    const declared = accountFeedOf(options.catalogue ?? options.modules);
    this.#accountOwner = declared?.owner;
    this.#accountCopies = declared && new AccountCopies(this.accounts, declared.feed, options.log);
    this.backpressure = new Backpressure(
      options.config.backpressure,
      {
        outboxes: () =>
          Promise.all(
            this.#runtimes.map(async ({ definition, relay }) => ({
              module: definition.name,
              pending: await relay.pending(),
            })),
          ),
        consumers: () => options.transport.stats(),
      },
      options.log,
      options.backpressure,
    );
  }

  /** Fully started: every consumer subscribed, relays and saga coordinators running; not stopping. */
  get started(): boolean {
    return this.#started && !this.#stopping;
  }

  /** Every module the build ships (the running ones included). */
  get #catalogue(): readonly ModuleDefinition[] {
    return this.#options.catalogue ?? this.#options.modules;
  }

  /** The context of each running module, for route registration. */
  get modules(): readonly { readonly definition: ModuleDefinition; readonly context: ModuleContext }[] {
    return this.#runtimes;
  }

  /** Where the bus connection is: `up` once started, `waiting` while the broker does not answer. */
  get busState(): BusState {
    return this.#bus.state;
  }

  /**
   * Opens every module (databases, start hooks), then connects the bus. Resolves with the kernel
   * started when the broker answers within `brokerWaitMs` (always on memory); rejects on a
   * permanent broker refusal, a subscribe error, or a module that fails to open or start. When
   * the broker does not answer in time it resolves serving without the bus (`started` false,
   * readiness failing naming the broker) and finishes the start once the broker answers; a fatal
   * error then goes to `onFatal`.
   */
  async start(): Promise<void> {
    for (const definition of this.#options.modules) {
      this.messageTypes.register(definition.messages ?? []);
      this.messageTypes.register(definition.sends ?? []);
    }
    for (const definition of this.#options.modules) this.#runtimes.push(await this.#open(definition));
    this.#accountCopies?.start();
    this.#checkpointer = checkpointInBackground(
      this.#runtimes.map((runtime) => runtime.database),
      this.log,
    );
    for (const runtime of this.#runtimes) await runtime.definition.start?.(runtime.context);
    // Before the bus: while a broker is waited for, commands pile up in the outboxes, and the
    // outbox bound is what keeps that pile finite.
    this.backpressure.start();
    this.#warnOfUnhandledCommands();
    // Every process waits for its bus, also one without consumers (a gateway): its relays publish.
    const consumers = this.#runtimes.flatMap((runtime) => runtime.consumers);
    const running = new Set(consumers.map((consumer) => consumer.name));
    const provisioned = catalogueTopology(this.#catalogue).filter((consumer) => !running.has(consumer.name));
    await this.#bus.connect(consumers, provisioned, () => this.#startRelaysAndSagas());
  }

  /**
   * Calls `listener` once if the start, finished in the background after `start` resolved without
   * the bus, fails for good: a permanent broker refusal, or subscribing failing while the broker
   * answers (a ConfigError such as BUS_PARTITIONS, a queue declared otherwise). Called at once (on
   * the next tick) if that has already happened. The kernel then neither consumes nor publishes:
   * the process should report the error and stop.
   */
  onFatal(listener: (error: Error) => void): void {
    this.#bus.onFatal(listener);
  }

  /** The last step of the start, once every consumer is subscribed. */
  #startRelaysAndSagas(): void {
    // The consumers exist now: read their lag before the relays publish to them, or the bound on
    // it would not hold until the next read (until then, only the outbox bound applies).
    void this.backpressure.sample();
    for (const runtime of this.#runtimes) {
      runtime.relay.start();
      runtime.coordinator.start();
      runtime.pruner.start();
    }
    if (this.#runtimes.some((runtime) => (runtime.definition.sagas ?? []).length > 0)) this.#outages.start();
    this.#started = true;
    this.log.info(
      { transport: this.transport.name, modules: this.#runtimes.map((r) => r.definition.name) },
      'kernel started',
    );
  }

  /** Idempotent. Pending outbox rows and unfinished deliveries stay for the next start. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#bus.stop(); // first, before any await: nothing more is subscribed or started
    this.#outages.stop();
    this.#accountCopies?.stop();
    this.backpressure.stop();
    for (const consumer of this.#consumers()) consumer.flow.close(); // no resume timer outlives the stop
    for (const runtime of this.#runtimes) await runtime.definition.stop?.(runtime.context);
    await Promise.all(this.#runtimes.flatMap((runtime) => [runtime.relay.stop(), runtime.pruner.stop()]));
    await this.transport.close();
    await this.#bus.finished(); // a subscribe waiting for a connection has ended with the transport
    await this.#checkpointer?.close();
    for (const runtime of this.#runtimes) {
      runtime.coordinator.stop();
      await runtime.database.close();
    }
    this.log.info('kernel stopped');
  }

  async #open(definition: ModuleDefinition): Promise<ModuleRuntime> {
    const log = this.log.child({ module: definition.name });
    const database = await openConfiguredDatabase(this.config, definition.name, log);
    const relay = new OutboxRelay(database, this.transport, log, this.metrics, this.#options.relay);
    const { inboxRetentionMs, outboxRetentionMs } = this.config;
    const retention = { inboxRetentionMs, outboxRetentionMs, ...this.#options.pruner };
    const pruner = new Pruner(database, log, this.metrics, retention);
    const accounts = await this.#accountCopies?.attach(
      definition,
      definition.name === this.#accountOwner,
      database,
    );
    const outbox = createOutbox(database, this.messageTypes, {
      onStaged: () => relay.wake(),
      onMessageStaged: accounts ? accounts.onMessageStaged : definition.onMessageStaged,
    });
    const committed = accounts?.committed;
    const consumers: Consumer[] = [];
    const context: ModuleContext = {
      name: definition.name,
      config: this.config,
      settings: this.#settings.get(definition.name),
      catalogue: this.#catalogue,
      log,
      db: database.db,
      transact: committed
        ? async (fn) => {
            const result = await database.transaction(() => fn(outbox.bind(currentOrNewContext())));
            await committed();
            return result;
          }
        : (fn) => database.transaction(() => fn(outbox.bind(currentOrNewContext()))),
      routeTypes: async (name, types) => {
        const consumer = consumers.find((c) => c.name === name);
        if (!consumer) throw new Error(`module ${definition.name} has no consumer ${name}`);
        await consumer.route(types, this.transport);
      },
    };
    const sagaStore = createSagaStore(database);
    const coordinator = new SagaCoordinator(definition.sagas ?? [], {
      database,
      outbox,
      store: sagaStore,
      log,
      defaultStepTimeoutMs: this.config.sagaStepTimeoutMs,
      busDown: () => this.#outages.down,
    });
    this.#outages.onEnd((outage) => coordinator.busOutageEnded(outage));
    const deadLetters = createDeadLetterStore(database);
    const inbox = createInbox(database);
    const deps: ConsumerDeps = {
      database,
      messageTypes: this.messageTypes,
      inbox,
      outbox,
      deadLetters,
      held: this.heldMessages,
      log,
      metrics: this.metrics,
      transport: this.transport.name,
      ...(this.#options.retry ? { defaultRetry: this.#options.retry } : {}),
    };
    const subscriptions = [
      ...(definition.subscriptions ?? []),
      ...coordinator.subscriptions(),
      ...(accounts?.subscriptions ?? []),
    ];
    for (const subscription of subscriptions) this.messageTypes.register(messagesOf(subscription));
    consumers.push(...subscriptions.map((subscription) => createConsumer(subscription, deps, context)));
    return {
      definition,
      context,
      database,
      relay,
      pruner,
      deadLetters,
      inbox,
      sagaStore,
      coordinator,
      consumers,
    };
  }

  // ---- operations (the admin HTTP routes and scripts call these) ----

  /** A page of the dead letters of every module here, oldest first. */
  listDeadLetters({
    limit,
    cursor,
    ...filter
  }: DeadLetterFilter & PageRequest = {}): Promise<Page<DeadLetter>> {
    return mergedPage(
      deadLetterPages,
      { limit, cursor },
      'asc',
      deadLetterKey,
      this.#runtimes.map((runtime) => (after, take) => runtime.deadLetters.page(filter, after, take)),
    );
  }

  /** The newest `take` dead letters of every module here, newest first (the dashboard's). */
  async newestDeadLetters(take: number): Promise<DeadLetter[]> {
    return mergeSorted(
      await Promise.all(this.#runtimes.map((runtime) => runtime.deadLetters.newest(take))),
      deadLetterKey,
      'desc',
      take,
    );
  }

  /** How many dead letters each consumer of this process has. */
  async deadLetterCounts(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const runtime of this.#runtimes) {
      for (const consumer of runtime.consumers) {
        counts.set(consumer.name, await runtime.deadLetters.count(consumer.name));
      }
    }
    return counts;
  }

  /**
   * Puts a dead letter back through its consumer's normal path. False when it is not here.
   * The first replay of a letter clears the consumer's inbox mark of the message, in the
   * transaction that claims the letter; the letter is deleted once the transport has accepted the
   * redelivery. A replay interrupted in between (a crash) leaves the letter claimed: replaying it
   * again redelivers without clearing the mark, so the inbox absorbs the copy if the first
   * redelivery was handled, and nothing is applied twice.
   */
  async replayDeadLetter(id: string): Promise<boolean> {
    for (const runtime of this.#runtimes) {
      if (!(await runtime.deadLetters.get(id))) continue;
      const claim = await runtime.database.transaction(async () => {
        const claimed = await runtime.deadLetters.claimForReplay(id);
        if (!claimed) return undefined;
        const { letter, first } = claimed;
        if (!runtime.consumers.some((c) => c.name === letter.consumer)) {
          throw new Error(`consumer ${letter.consumer} does not run in this process`);
        }
        const messageId =
          typeof letter.event === 'string' ? undefined : (letter.event as { id?: unknown }).id;
        if (first && typeof messageId === 'string') await runtime.inbox.forget(letter.consumer, messageId);
        return letter;
      });
      const consumer = claim && runtime.consumers.find((c) => c.name === claim.consumer);
      if (!claim || !consumer) return false;
      await this.transport.redeliver(consumer, claim.payload);
      await runtime.database.transaction(() => runtime.deadLetters.delete(id));
      return true;
    }
    return false;
  }

  /**
   * Replays every letter the filter matches that failed before the call, a page at a time (a large
   * queue is never loaded whole). A replayed message that fails again comes back as a new letter,
   * later in the list: stopping at the first letter newer than the call keeps it from being
   * replayed over and over while its handler still fails.
   */
  async replayDeadLetters(filter: DeadLetterFilter = {}): Promise<number> {
    const startedAt = Date.now();
    let replayed = 0;
    let cursor: string | undefined;
    do {
      const page = await this.listDeadLetters({ ...filter, limit: MAX_PAGE_SIZE, cursor });
      for (const letter of page.items) {
        if (Date.parse(letter.failedAt) > startedAt) return replayed;
        if (await this.replayDeadLetter(letter.id)) replayed++;
      }
      cursor = page.next ?? undefined;
    } while (cursor !== undefined);
    return replayed;
  }

  async deleteDeadLetter(id: string): Promise<boolean> {
    for (const runtime of this.#runtimes) {
      if (await runtime.database.transaction(() => runtime.deadLetters.delete(id))) return true;
    }
    return false;
  }

  /**
   * Every module's dead letters here in groups that failed the same way (consumer, type, error),
   * each with its module: up to `take` groups per module, those that failed last first.
   */
  async deadLetterGroups(take: number): Promise<(DeadLetterGroup & { readonly module: string })[]> {
    const perModule = await Promise.all(
      this.#runtimes.map(async (runtime) =>
        (await runtime.deadLetters.groups(take)).map((group) => ({
          ...group,
          module: runtime.definition.name,
        })),
      ),
    );
    return perModule.flat().sort((a, b) => b.lastFailedAt.localeCompare(a.lastFailedAt));
  }

  /** Deletes every dead letter here that the filter matches; how many. */
  async deleteDeadLetters(filter: DeadLetterFilter): Promise<number> {
    let deleted = 0;
    for (const runtime of this.#runtimes) {
      deleted += await runtime.database.transaction(() => runtime.deadLetters.deleteMatching(filter));
    }
    return deleted;
  }

  outboxStats(): Promise<OutboxStats[]> {
    return Promise.all(this.#runtimes.map((runtime) => runtime.relay.stats()));
  }

  /** A page of the saga instances of every module here, newest started first. */
  listSagas({
    status,
    limit,
    cursor,
  }: { readonly status?: string | undefined } & PageRequest = {}): Promise<Page<SagaListing>> {
    return mergedPage(
      sagaPages,
      { limit, cursor },
      'desc',
      sagaKey,
      this.#runtimes.map((runtime) => (after, take) => runtime.sagaStore.page(status, after, take)),
    );
  }

  /** Saga instances of this process per status (every module's store added up). */
  async sagaCountsByStatus(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const runtime of this.#runtimes) {
      for (const [status, n] of Object.entries(await runtime.sagaStore.countByStatus())) {
        counts[status] = (counts[status] ?? 0) + n;
      }
    }
    return counts;
  }

  /** The consumers of this process that are paused now: a dependency of their handler is down. */
  pausedConsumers(): PauseState[] {
    return this.#consumers().flatMap((consumer) => consumer.flow.state ?? []);
  }

  #consumers(): Consumer[] {
    return this.#runtimes.flatMap((runtime) => runtime.consumers);
  }

  /** The durable consumers of this process: who receives which message types (docs, dashboard). */
  consumers(): ConsumerDescription[] {
    return this.#runtimes.flatMap((runtime) =>
      runtime.consumers.map(({ name, module, handles }) => ({ name, module, types: [...handles] })),
    );
  }

  /** Refreshes the scrape-time gauges, then renders every metric in Prometheus text format. */
  async renderMetrics(): Promise<string> {
    const { metrics } = this;
    const transport = this.transport.name;
    for (const stats of await this.transport.stats().catch(() => [])) {
      metrics.queueDepth.set({ consumer: stats.consumer, transport }, stats.depth);
      metrics.consumerLag.set({ consumer: stats.consumer, transport }, stats.lag);
      if (stats.partitions)
        metrics.partitionsHeld.set({ consumer: stats.consumer, transport }, stats.partitions.length);
    }
    for (const outbox of await this.outboxStats()) {
      metrics.outboxPending.set({ module: outbox.module }, outbox.pending);
      metrics.outboxOldestAge.set({ module: outbox.module }, outbox.oldestPendingAgeMs / 1000);
    }
    const deadLetterCounts = await this.deadLetterCounts();
    metrics.deadLetters.reset();
    for (const [consumer, n] of deadLetterCounts) metrics.deadLetters.set({ consumer }, n);
    metrics.held.reset();
    for (const [consumer] of deadLetterCounts) metrics.held.set({ consumer }, 0);
    for (const { consumer, messages } of this.heldMessages.byConsumer())
      metrics.held.set({ consumer }, messages);
    for (const consumer of this.#consumers())
      metrics.consumerPaused.set({ consumer: consumer.name }, consumer.flow.paused ? 1 : 0);
    metrics.sagaInstances.reset();
    for (const [status, n] of Object.entries(await this.sagaCountsByStatus()))
      metrics.sagaInstances.set({ status }, n);
    return metrics.registry.metrics();
  }

  /**
   * Readiness: every database answers, the transport is up, every consumer is subscribed (while
   * the broker is waited for, `subscriptions` fails naming it and its URL). Warns (`commands`) of
   * commands nobody handles on memory, (`held`) of messages held for a newer build, (`paused`) of
   * consumers paused while a dependency of theirs is down, and (`backpressure`) while this process
   * refuses commands because a backlog is over its bound.
   */
  async health(): Promise<Record<string, HealthCheck>> {
    const checks: Record<string, HealthCheck> = {};
    for (const { database, definition } of this.#runtimes) {
      try {
        await database.statement('SELECT 1').get();
        checks[`db:${definition.name}`] = { status: 'pass' };
      } catch (error) {
        checks[`db:${definition.name}`] = { status: 'fail', detail: String(error) };
      }
    }
    const transport = await this.transport
      .health()
      .catch((error: unknown) => ({ ok: false, detail: String(error) }));
    checks[`transport:${this.transport.name}`] = transport.ok
      ? { status: 'pass' }
      : { status: 'fail', detail: transport.detail ?? 'down' };
    checks.subscriptions = this.started
      ? { status: 'pass' }
      : { status: 'fail', detail: this.#bus.detail() ?? 'kernel stopped' };
    if (this.#unhandled.length > 0) {
      checks.commands = { status: 'warn', detail: unhandledDetail(this.#unhandled) };
    }
    const held = this.heldMessages.byConsumer();
    if (held.length > 0) checks.held = { status: 'warn', detail: heldDetail(held) };
    // A warning, not a failure: reads still answer here, so a balancer should keep the instance.
    const refusal = this.backpressure.refusal();
    if (refusal) checks.backpressure = { status: 'warn', detail: refusal.detail };
    const paused = this.pausedConsumers();
    if (paused.length > 0) checks.paused = { status: 'warn', detail: pausedDetail(paused) };
    return checks;
  }

  /** On memory, the commands this process may send whose owner does not run here: a warning. */
  #warnOfUnhandledCommands(): void {
    if (this.transport.name !== 'memory') return;
    this.#unhandled = unhandledCommands(this.#options.modules);
    if (this.#unhandled.length > 0) this.log.warn(unhandledDetail(this.#unhandled));
  }
}

const unhandledDetail = (types: readonly string[]): string =>
  `no module of this process handles ${types.join(', ')}: on the memory transport they wait in their ` +
  "owners' databases for a start that runs those modules, and what waits for their replies times out " +
  '(run the modules that own them in this process, or use a broker transport)';

const pausedDetail = (paused: readonly PauseState[]): string => {
  const each = paused.map(
    ({ consumer, dependency, since, resumesAt }) =>
      `${consumer} paused since ${new Date(since).toISOString()}: ${dependency} is down ` +
      `(tries again at ${new Date(resumesAt).toISOString()})`,
  );
  return `${each.join('; ')}: their messages wait in their queues, nothing is dead-lettered meanwhile`;
};

const heldDetail = (held: readonly HeldByConsumer[]): string =>
  held
    .map(
      ({ consumer, messages, versions }) =>
        `${consumer} holds ${messages} message(s) of ${versions.join(', ')}`,
    )
    .join('; ') +
  ': a newer build publishes them; they wait, their keys held back, for an instance of a build that ' +
  'reads them (finish the rolling upgrade of these consumers)';
