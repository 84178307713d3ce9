import type { ConsumerEndpoint, Transport } from '../messaging/transport.js';

/** The transport with some of its methods replaced; the others delegate to it. */
export function overriding(transport: Transport, overrides: Partial<Omit<Transport, 'name'>>): Transport {
  return {
    name: transport.name,
    publish: (messages) => transport.publish(messages),
    subscribe: (endpoint) => transport.subscribe(endpoint),
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
 * The transport, unchanged, but telling `onSubscribe` of every endpoint it is asked to subscribe
 * (before it subscribes it): specs record what to clean up or check what was subscribed.
 */
export function onEverySubscribe(
  transport: Transport,
  onSubscribe: (endpoint: ConsumerEndpoint) => void,
): Transport {
  return overriding(transport, {
    subscribe: (endpoint) => {
      onSubscribe(endpoint);
      return transport.subscribe(endpoint);
    },
  });
}
