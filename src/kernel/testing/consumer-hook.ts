import type { ConsumerEndpoint, ConsumerTopology, Transport } from '../messaging/transport.js';

/** The transport with some of its methods replaced; the others delegate to it. */
export function overriding(transport: Transport, overrides: Partial<Omit<Transport, 'name'>>): Transport {
  return {
    name: transport.name,
    publish: (messages) => transport.publish(messages),
    subscribe: (endpoint) => transport.subscribe(endpoint),
    provision: (consumers) => transport.provision(consumers),
    route: (endpoint, types) => transport.route(endpoint, types),
    redeliver: (endpoint, raw) => transport.redeliver(endpoint, raw),
    stats: () => transport.stats(),
    health: () => transport.health(),
    connected: () => transport.connected(),
    close: () => transport.close(),
    ...overrides,
  };
}

/**
 * The transport, unchanged, but telling `onConsumer` of every consumer it is asked to subscribe
 * or provision (before it does; `endpoint` when it subscribes one): specs record what to clean up
 * or check what was subscribed.
 */
export function onEveryConsumer(
  transport: Transport,
  onConsumer: (consumer: ConsumerTopology, endpoint?: ConsumerEndpoint) => void,
): Transport {
  return overriding(transport, {
    subscribe: (endpoint) => {
      onConsumer(endpoint, endpoint);
      return transport.subscribe(endpoint);
    },
    provision: (consumers) => {
      for (const consumer of consumers) onConsumer(consumer);
      return transport.provision(consumers);
    },
  });
}
