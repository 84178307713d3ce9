import { ConsumerPause } from './consumer-pause.js';
import { ConsumerRoutes } from './consumer-routes.js';
import { inCausalContext } from './pipeline/context.js';
import { deadLetterWriter } from './pipeline/dead-letter.js';
import { decode } from './pipeline/decode.js';
import { handle } from './pipeline/handle.js';
import { holder } from './pipeline/hold.js';
import { skipDuplicates } from './pipeline/inbox.js';
import { measure } from './pipeline/measure.js';
import { compose, Delivery } from './pipeline/pipeline.js';
import { retryOrDeadLetter } from './pipeline/retry.js';
import type { ConsumerDeps, ConsumerScope } from './pipeline/scope.js';
import { DEFAULT_RETRY_POLICY } from './retry.js';
import { dispatcherOf, type Handler, type Subscription } from './subscription.js';
import type { ConsumerEndpoint, Transport } from './transport.js';

export type { ConsumerDeps } from './pipeline/scope.js';

/** The kernel's side of a consumer endpoint: it also decides which types are routed to it. */
export interface Consumer extends ConsumerEndpoint {
  /** Paused while a dependency of its handler is down (pipeline/pause.ts); the transport obeys it. */
  readonly flow: ConsumerPause;
  /** Narrows the routed types to the subscription's `typesAtStart` (before it subscribes). */
  routeAtStart(): Promise<void>;
  /**
   * Routes these types to the consumer through the transport; resolves once messages of them
   * published from then on reach it. Calls run one after another, and a type is taken as routed
   * only once the transport has routed it, so a failed call leaves nothing half done.
   */
  route(types: readonly string[], transport: Pick<Transport, 'route'>): Promise<void>;
}

/**
 * Builds the endpoint a transport delivers to. A delivery goes down the pipeline composed below,
 * one step per file in ./pipeline/, the first step outermost; the routing of types is
 * ConsumerRoutes'. The order is the guarantee: measure sees every outcome, the undecodable
 * included; nothing after decode sees a message that does not decode or is held (a newer schema
 * version this build cannot read); a failure anywhere after
 * retryOrDeadLetter (the inbox read included) is retried or dead-lettered, or pauses the consumer
 * when it says a dependency is down (its `flow`, which the transport obeys); the inbox check runs
 * right before the handler, whose transaction checks again.
 */
export function createConsumer<Module>(
  subscription: Subscription<Module>,
  deps: ConsumerDeps,
  moduleContext: Module,
): Consumer {
  const scope = consumerScope(subscription, deps, moduleContext);
  const deadLetter = deadLetterWriter(scope);
  const hold = holder(scope);
  const deliver = compose(
    [
      measure(scope), // counts and times every delivery
      decode(scope, deadLetter, hold), // undecodable: dead-lettered; too new: held
      retryOrDeadLetter(scope, deadLetter, hold), // a failure below: a retry, a dead letter, a hold or a pause
      inCausalContext(scope), // below here, in the handler's span: log lines and staged messages carry it
      skipDuplicates(scope), // a delivery already in the inbox is settled as a duplicate
    ],
    handle(scope), // the handler; its writes, inbox record and settle in one transaction
  );
  const routes = new ConsumerRoutes(subscription, moduleContext);
  const consumer: Consumer = {
    name: scope.name,
    module: scope.module,
    handles: routes.handles,
    get types() {
      return routes.types;
    },
    routeAtStart: () => routes.routeAtStart(),
    route: (types, transport) => routes.route(consumer, types, transport),
    concurrency: Math.max(1, subscription.concurrency ?? 1),
    database: scope.database,
    flow: scope.pause,
    deliver(raw, attempt, settle, unsettled) {
      // measure, first in the list, is async: a failure reaches the transport as a rejection
      return deliver(new Delivery(raw, attempt, settle, unsettled));
    },
  };
  return consumer;
}

/** The consumer's name (checked: `<module>.<purpose>`), policy, handler and services. */
function consumerScope<Module>(
  subscription: Subscription<Module>,
  deps: ConsumerDeps,
  moduleContext: Module,
): ConsumerScope {
  const { database, messageTypes, inbox, outbox, deadLetters, held, metrics, transport } = deps;
  const module = database.module;
  const name = subscription.consumer;
  if (!name.startsWith(`${module}.`) || name.length <= module.length + 1) {
    throw new Error(`consumer "${name}" must be named ${module}.<purpose>`);
  }
  const log = deps.log.child({ consumer: name });
  return {
    name,
    module,
    database,
    messageTypes,
    inbox,
    outbox,
    deadLetters,
    held,
    metrics,
    transport,
    log,
    policy: { ...DEFAULT_RETRY_POLICY, ...deps.defaultRetry, ...subscription.retry },
    // Sound: the handle step passes `moduleContext`, which is the Module the handlers take.
    handler: dispatcherOf(subscription) as Handler,
    moduleContext,
    pause: new ConsumerPause(name, log),
  };
}
