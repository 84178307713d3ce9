import type { Envelope } from '../messaging/envelope.js';
import type { AnyMessageDefinition } from '../messaging/message-types.js';
import type { Subscription } from '../messaging/subscription.js';
import { on } from '../messaging/subscription.js';
import type { Logger } from '../observability/logger.js';
import type { Outbox, Tx } from '../outbox/outbox.js';
import type { ModuleDatabase } from '../persistence/db.js';
import type { Saga, SagaInstance } from './saga.js';
import type { SagaStore } from './store.js';
import { stepTimedOut, transitionSaga } from './transition.js';

/** The consumer a saga's messages arrive through: what starts it and every reply it awaits. */
export function sagaConsumerOf(saga: Saga): {
  readonly consumer: string;
  readonly messages: readonly AnyMessageDefinition[];
} {
  return { consumer: `${saga.name}-saga`, messages: [...saga.startedBy, ...saga.handles] };
}

export interface CoordinatorDeps {
  readonly database: ModuleDatabase;
  readonly outbox: Outbox;
  readonly store: SagaStore;
  readonly log: Logger;
  readonly defaultStepTimeoutMs: number;
}

/**
 * Runs the sagas of one module. Replies arrive through an ordinary consumer (`<saga name>-saga`),
 * so they get the inbox, retries and dead letters of every consumer; each transition (state,
 * messages sent, and the module's own `onFinish` writes) commits in one transaction. Step timeouts
 * are deadlines stored on the instance, so they fire after a restart too. The replies a
 * compensating instance awaits are stored with it, so a compensation is seen through (or times
 * out) across restarts as well; what each message does is `transitionSaga` (transition.ts).
 */
export class SagaCoordinator {
  readonly #sagas: ReadonlyMap<string, Saga>;
  readonly #deps: CoordinatorDeps;
  #timer: NodeJS.Timeout | undefined;
  #stopped = true;

  constructor(sagas: readonly Saga[], deps: CoordinatorDeps) {
    this.#sagas = new Map(sagas.map((saga) => [saga.name, saga]));
    this.#deps = deps;
    for (const saga of sagas) {
      if (!saga.name.startsWith(`${deps.database.module}.`)) {
        throw new Error(`saga ${saga.name} must be named ${deps.database.module}.<name>`);
      }
    }
  }

  subscriptions(): Subscription[] {
    return [...this.#sagas.values()].map((saga) => ({
      consumer: sagaConsumerOf(saga).consumer,
      handlers: [
        on(sagaConsumerOf(saga).messages, (message, ctx) => {
          ctx.transact((tx) =>
            this.#apply(tx, saga, this.#deps.store.load(saga.name, saga.correlate(message)), message),
          );
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

  #apply(tx: Tx, saga: Saga, current: SagaInstance<unknown> | undefined, message: Envelope): void {
    const { store, log, defaultStepTimeoutMs } = this.#deps;
    const transition = transitionSaga(saga, current, message, Date.now(), defaultStepTimeoutMs);
    if (!transition) {
      log.debug({ saga: saga.name, type: message.type }, 'message ignored: no running saga instance');
      return;
    }
    const sent = tx.stage(...transition.send);
    store.save({ ...transition.instance, lastSentId: sent.at(-1)?.id ?? transition.instance.lastSentId });
    if (transition.finished) saga.onFinish?.(tx, transition.instance);
    setImmediate(() => this.#schedule());
  }

  /** Arms one timer for the nearest deadline of this module's instances. */
  #schedule(minDelayMs = 0): void {
    if (this.#stopped) return;
    const next = this.#deps.store.nextDeadline();
    clearTimeout(this.#timer);
    if (next === undefined) return;
    const delay = Math.min(Math.max(minDelayMs, next - Date.now()), 60_000);
    this.#timer = setTimeout(() => this.#fireDue(), delay);
    this.#timer.unref();
  }

  #fireDue(): void {
    const { store, database, outbox, log } = this.#deps;
    const now = Date.now();
    let failed = false;
    for (const due of store.due(now)) {
      const saga = this.#sagas.get(due.name);
      if (!saga) continue;
      try {
        database.writeTransaction(() => {
          const instance = store.load(due.name, due.id);
          if (!instance || instance.deadline === null || instance.deadline > now) return;
          const timeout = stepTimedOut(instance, now);
          // What the timeout sends is caused by the request left unanswered.
          const tx = outbox.bind({ correlationId: instance.correlationId, causationId: instance.lastSentId });
          log.warn({ saga: saga.name, id: instance.id, step: instance.step }, 'saga step timed out');
          this.#apply(tx, saga, instance, timeout);
        });
      } catch (error) {
        failed = true;
        log.error(
          { err: error, saga: due.name, id: due.id },
          'saga timeout handling failed; retrying in 1 s',
        );
      }
    }
    this.#schedule(failed ? 1000 : 0);
  }
}
