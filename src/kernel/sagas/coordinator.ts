import type { Envelope } from '../messaging/envelope.js';
import type { AnyMessageDefinition } from '../messaging/message-types.js';
import type { Subscription } from '../messaging/subscription.js';
import { on } from '../messaging/subscription.js';
import type { Logger } from '../observability/logger.js';
import type { Outbox, Tx } from '../outbox/outbox.js';
import { type ModuleDatabase, outsideTransactions } from '../persistence/db.js';
import type { BusOutage } from './bus-outages.js';
import type { Saga, SagaInstance } from './saga.js';
import { type StepTimeoutData, type StepTimeoutDefinition, stepTimeoutDefinition } from './step-timeout.js';
import type { SagaStore } from './store.js';
import { stepTimedOut, transitionSaga } from './transition.js';

/**
 * The consumer a saga's messages arrive through: what starts it, every reply it awaits, and its
 * own step timeouts (step-timeout.ts).
 */
export function sagaConsumerOf(saga: Saga): {
  readonly consumer: string;
  readonly messages: readonly AnyMessageDefinition[];
} {
  return {
    consumer: `${saga.name}-saga`,
    messages: [...saga.startedBy, ...saga.handles, stepTimeoutDefinition(saga.name)],
  };
}

export interface CoordinatorDeps {
  readonly database: ModuleDatabase;
  readonly outbox: Outbox;
  readonly store: SagaStore;
  readonly log: Logger;
  readonly defaultStepTimeoutMs: number;
  /** Whether this process's bus is down now: no deadline comes due meanwhile (bus-outages.ts). */
  readonly busDown: () => boolean;
}

interface RunningSaga {
  readonly saga: Saga;
  readonly timeout: StepTimeoutDefinition;
  readonly stepTimeoutMs: number;
}

/** How long after a saga moves its timer is re-armed (the moves meanwhile share the read). */
const RESCHEDULE_AFTER_MS = 50;

/** Why a due deadline did not time its step out (yet). */
type Verdict = 'timed-out' | 'moved' | 'gone';

/**
 * Runs the sagas of one module. Replies arrive through an ordinary consumer (`<saga name>-saga`),
 * so they get the inbox, retries and dead letters of every consumer; each transition (state,
 * messages sent, and the module's own `onFinish` writes) commits in one transaction. The replies
 * a compensating instance awaits are stored with it, so a compensation is seen through (or times
 * out) across restarts as well; what each message does is `transitionSaga` (transition.ts).
 *
 * Step deadlines are stored on the instance, so they survive restarts, and they measure the
 * business wait (the guarantees are on `SagaDefinition.stepTimeoutMs`): a due deadline is first
 * moved to its request's publication + the step timeout when the outbox relay published the
 * request late (or has not yet); deadlines do not come due while the bus is down, and move by the
 * outage once it ends (`busOutageEnded`); then the timeout is sent as a message to the saga's own
 * consumer, keyed like the request, and applied only if, when it arrives, the instance still waits
 * on the deadline that came due (a reply queued before it has moved the instance on).
 */
export class SagaCoordinator {
  readonly #sagas: ReadonlyMap<string, RunningSaga>;
  readonly #deps: CoordinatorDeps;
  #timer: NodeJS.Timeout | undefined;
  /** A re-arm after saga moves is queued (`#scheduleSoon`). */
  #scheduleQueued = false;
  #stopped = true;

  constructor(sagas: readonly Saga[], deps: CoordinatorDeps) {
    for (const saga of sagas) {
      if (!saga.name.startsWith(`${deps.database.module}.`)) {
        throw new Error(`saga ${saga.name} must be named ${deps.database.module}.<name>`);
      }
    }
    this.#sagas = new Map(
      sagas.map((saga) => [
        saga.name,
        {
          saga,
          timeout: stepTimeoutDefinition(saga.name),
          stepTimeoutMs: saga.stepTimeoutMs ?? deps.defaultStepTimeoutMs,
        },
      ]),
    );
    this.#deps = deps;
  }

  subscriptions(): Subscription[] {
    const { store } = this.#deps;
    return [...this.#sagas.values()].map(({ saga, timeout }) => ({
      consumer: sagaConsumerOf(saga).consumer,
      handlers: [
        on([...saga.startedBy, ...saga.handles], async (message, ctx) => {
          await ctx.transact(async (tx) =>
            this.#apply(tx, saga, await store.load(saga.name, saga.correlate(message)), message),
          );
        }),
        on([timeout], async (message, ctx) => {
          await ctx.transact(() => this.#timeOut(saga, message.data));
        }),
      ],
    }));
  }

  start(): void {
    this.#stopped = false;
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /**
   * This process's bus was down: every deadline armed before the outage and not yet due then moves
   * later by its length (the step timeout does not count it; SagaStore.shiftDeadlines).
   */
  async busOutageEnded(outage: BusOutage): Promise<void> {
    const { database, store, log } = this.#deps;
    try {
      const moved = await database.transaction(() => store.shiftDeadlines(outage, Date.now()));
      const outageMs = outage.until - outage.since;
      if (moved > 0) log.info({ moved, outageMs }, 'saga step deadlines moved by the bus outage');
    } catch (error) {
      log.error({ err: error }, 'moving saga step deadlines by the bus outage failed');
    }
    this.#schedule();
  }

  async #apply(
    tx: Tx,
    saga: Saga,
    current: SagaInstance<unknown> | undefined,
    message: Envelope,
  ): Promise<void> {
    const { store, log, outbox, defaultStepTimeoutMs } = this.#deps;
    const transition = transitionSaga(saga, current, message, Date.now(), defaultStepTimeoutMs);
    if (!transition) {
      log.debug({ saga: saga.name, type: message.type }, 'message ignored: no running saga instance');
      return;
    }
    const last = (await tx.stage(...transition.send)).at(-1);
    const { instance } = transition;
    await store.save({
      ...instance,
      lastSentId: last?.id ?? instance.lastSentId,
      lastSentSeq: last ? (outbox.seqOf(last) ?? null) : instance.lastSentSeq,
    });
    if (transition.finished) await saga.onFinish?.(tx, instance);
    this.#scheduleSoon();
  }

  /**
   * Re-arms the timer shortly after a saga moved, once for all that move meanwhile: a step's
   * deadline is seconds away, and reading the nearest deadline after every saga message was a
   * statement per message (a round trip on PostgreSQL) for a timer that rarely changes.
   */
  #scheduleSoon(): void {
    if (this.#scheduleQueued) return;
    this.#scheduleQueued = true;
    outsideTransactions(() =>
      setTimeout(() => {
        this.#scheduleQueued = false;
        this.#schedule();
      }, RESCHEDULE_AFTER_MS).unref(),
    );
  }

  /** The timeout message arrived: applied while the instance still waits on that deadline. */
  async #timeOut(saga: Saga, data: StepTimeoutData): Promise<void> {
    const { store, outbox, log } = this.#deps;
    const instance = await store.load(saga.name, data.id);
    if (!instance || instance.deadline !== data.deadline) {
      log.debug({ saga: saga.name, id: data.id }, 'step timeout ignored: the instance has moved on');
      return;
    }
    log.warn({ saga: saga.name, id: instance.id, step: instance.step }, 'saga step timed out');
    // What the timeout sends is caused by the request left unanswered.
    const tx = outbox.bind({ correlationId: instance.correlationId, causationId: instance.lastSentId });
    await this.#apply(tx, saga, instance, stepTimedOut(instance, Date.now()));
  }

  /** Arms one timer for the nearest deadline of this module's instances. */
  #schedule(minDelayMs = 0): void {
    if (this.#stopped) return;
    this.#deps.store.nextDeadline().then(
      (next) => {
        clearTimeout(this.#timer);
        if (this.#stopped || next === undefined) return;
        const delay = Math.min(Math.max(minDelayMs, next - Date.now()), 60_000);
        this.#timer = setTimeout(() => void this.#fireDue(), delay);
        this.#timer.unref();
      },
      (error: unknown) => {
        this.#deps.log.error({ err: error }, 'reading the next saga deadline failed; trying again in 1 s');
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => this.#schedule(), 1000);
        this.#timer.unref();
      },
    );
  }

  async #fireDue(): Promise<void> {
    const { store, database, log, busDown } = this.#deps;
    if (busDown()) {
      this.#schedule(1000); // the outage's end moves the deadlines and re-arms at once
      return;
    }
    const now = Date.now();
    let failed = false;
    let dueNow: SagaInstance<unknown>[] = [];
    try {
      dueNow = await store.due(now);
    } catch (error) {
      failed = true;
      log.error({ err: error }, 'reading due saga deadlines failed; retrying in 1 s');
    }
    for (const due of dueNow) {
      const running = this.#sagas.get(due.name);
      if (!running) continue;
      try {
        const verdict = await database.transaction(() => this.#onDue(running, due.id, now));
        if (verdict === 'timed-out')
          log.debug({ saga: due.name, id: due.id }, 'step deadline due: timeout sent to the saga consumer');
      } catch (error) {
        failed = true;
        log.error(
          { err: error, saga: due.name, id: due.id },
          'saga timeout handling failed; retrying in 1 s',
        );
      }
    }
    if (!this.#stopped) this.#schedule(failed ? 1000 : 0);
  }

  /**
   * A deadline came due (in a write transaction). Moved to the request's publication + the step
   * timeout when that is later (now + the step timeout while it is unpublished); else the timeout
   * is sent to the saga's consumer, and the deadline re-armed one step timeout later, so a timeout
   * that arrives stale is followed by another while the instance still waits.
   */
  async #onDue({ saga, timeout, stepTimeoutMs }: RunningSaga, id: string, now: number): Promise<Verdict> {
    const { store, outbox } = this.#deps;
    const instance = await store.load(saga.name, id);
    if (!instance || instance.deadline === null || instance.deadline > now) return 'gone';
    const request =
      instance.lastSentSeq === null ? undefined : await outbox.publication(instance.lastSentSeq);
    const counted = request ? (request.publishedAt ?? now) + stepTimeoutMs : now;
    if (counted > now) {
      await store.postpone(saga.name, id, counted);
      return 'moved';
    }
    const deadline = now + stepTimeoutMs;
    const tx = outbox.bind({ correlationId: instance.correlationId, causationId: instance.lastSentId });
    await tx.stage(
      timeout({ saga: saga.name, id, step: instance.step, deadline, key: request?.partitionKey ?? id }),
    );
    await store.postpone(saga.name, id, deadline);
    return 'timed-out';
  }
}
