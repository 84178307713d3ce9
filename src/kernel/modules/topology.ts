import { accountTopology } from '../accounts/feed.js';
import { messagesOf, type Subscription } from '../messaging/subscription.js';
import type { ConsumerTopology } from '../messaging/transport.js';
import { sagaConsumerOf } from '../sagas/coordinator.js';
import type { ModuleDefinition } from './module.js';

/**
 * Every durable consumer of the catalogue, its modules' subscriptions, sagas and account copies
 * alike, as any process knows it without running the module: what the kernel provisions before it
 * publishes, so a message finds its consumers' queues whatever order the processes start in.
 */
export function catalogueTopology(catalogue: readonly ModuleDefinition[]): ConsumerTopology[] {
  return catalogue
    .flatMap((definition) => [
      ...(definition.subscriptions ?? []).map((subscription) =>
        subscriptionTopology(definition.name, subscription),
      ),
      ...(definition.sagas ?? []).map((saga) => {
        const { consumer, messages } = sagaConsumerOf(saga);
        const handles = messages.map((m) => m.type);
        return { name: consumer, module: definition.name, handles, types: handles };
      }),
    ])
    .concat(accountTopology(catalogue));
}

/**
 * A subscription's topology: the types routed to it are every type it handles, its `typesAtStart`
 * list, or none when its running module decides them (a function: the module routes them itself).
 */
function subscriptionTopology<Module>(module: string, subscription: Subscription<Module>): ConsumerTopology {
  const handles = messagesOf(subscription).map((m) => m.type);
  const { typesAtStart } = subscription;
  const types = typesAtStart === undefined ? handles : typeof typesAtStart === 'function' ? [] : typesAtStart;
  return { name: subscription.consumer, module, handles, types };
}
