import type { Tx } from '../../outbox/outbox.js';
import { type Awaitable, andThen, isThenable } from '../../persistence/awaitable.js';
import { currentContext } from '../context.js';
import { contextOf } from '../envelope.js';
import type { HandlerContext } from '../subscription.js';
import { type DeliveryHandler, DUPLICATE, HANDLED } from './pipeline.js';
import type { ConsumerScope } from './scope.js';

type Settlement = { outcome: 'pending' | 'committed' | 'duplicate' };

const nothing = (): void => {};

/**
 * The terminal step: runs the subscription's handler with a `HandlerContext` whose `transact`
 * commits the handler's writes, the messages it stages, the inbox record and the transport's
 * settle in ONE write transaction (exactly-once effect). A handler that never calls `transact`
 * gets an empty one. A handler that throws before committing fails the delivery (retry or dead
 * letter, by the step before); one that throws after committing is only logged.
 */
export function handle(
  scope: Pick<ConsumerScope, 'name' | 'database' | 'inbox' | 'outbox' | 'log' | 'handler' | 'moduleContext'>,
): DeliveryHandler {
  const { name, database, inbox, outbox, log, handler, moduleContext } = scope;
  return async (delivery) => {
    const { envelope, attempt, settle } = delivery;
    // Made when first used: most handlers log nothing, and a child logger per delivery was a cost.
    let messageLog: typeof log | undefined;
    const logOf = () => {
      messageLog ??= log.child({ type: envelope.type, messageId: envelope.id, attempt });
      return messageLog;
    };
    // The context the causal-context step runs this delivery in (its span, when traced): taken
    // here, as the transaction may start from another async context (the module's queue).
    const causal = currentContext() ?? contextOf(envelope);
    const result: Settlement = { outcome: 'pending' };
    let started = false;
    const committed = (): void => {
      result.outcome = 'committed';
    };
    const transact: HandlerContext['transact'] = (fn: (tx: Tx) => unknown): Promise<boolean> => {
      if (started) return Promise.reject(new Error(`${name}: transact() may run once per delivery`));
      started = true;
      return database.transaction(() => {
        // Settled first, not awaited: whatever follows, it commits with the transaction or not at
        // all, and on PostgreSQL it shares the inbox claim's round trip (a pipelined connection).
        const settled = settle?.();
        if (isThenable(settled)) settled.catch(() => {}); // awaited below; must not go unhandled meanwhile
        return andThen(inbox.claim(name, envelope.id), (claimed) => {
          if (!claimed) {
            return andThen(settled, () => {
              result.outcome = 'duplicate'; // a copy of this delivery committed since the inbox step
              return false;
            });
          }
          return andThen(fn(outbox.bind(causal)) as Awaitable<unknown>, () =>
            andThen(settled, () => {
              database.afterCommit(committed); // set at the commit, before `transact` resolves
              return true;
            }),
          );
        });
      });
    };
    try {
      await handler(envelope, {
        transact,
        get log() {
          return logOf();
        },
        attempt,
        module: moduleContext,
      });
    } catch (error) {
      // Once its transaction has committed, the delivery is done: a retry would be a duplicate,
      // and a dead letter would report a message whose effect happened.
      if (result.outcome === 'pending') throw error;
      logOf().error({ err: error }, 'handler failed after its transaction committed; not retried');
    }
    if (result.outcome === 'pending') {
      // A handler that swallowed its transaction's failure, or did not await it: not handled.
      if (started) throw new Error(`${name}: the handler returned before its transaction committed`);
      await transact(nothing);
    }
    return result.outcome === 'duplicate' ? DUPLICATE : HANDLED;
  };
}
