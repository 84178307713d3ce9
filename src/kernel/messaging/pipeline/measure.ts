import type { DeliveryOutcome } from '../transport.js';
import type { Delivery, Middleware } from './pipeline.js';
import type { ConsumerScope } from './scope.js';

/**
 * Counts every delivery by outcome (`bus_messages_handled_total`, type 'unknown' for a message
 * that could not be decoded) and, for a decoded one, the time the pipeline took; the end-to-end
 * latency (from the message's time) only for a handled one. First in the list, so it times and
 * counts everything after it, decode included.
 */
export function measure(scope: Pick<ConsumerScope, 'name' | 'metrics' | 'transport'>): Middleware {
  const { name: consumer, metrics, transport } = scope;
  const record = (delivery: Delivery, started: number, outcome: DeliveryOutcome): DeliveryOutcome => {
    const envelope = delivery.envelopeIfDecoded;
    if (envelope === undefined) {
      metrics.handled.inc({ consumer, type: 'unknown', outcome: outcome.kind, transport });
      return outcome;
    }
    const labels = { consumer, type: envelope.type };
    const seconds = (performance.now() - started) / 1000;
    metrics.handlerDuration.observe(labels, seconds);
    metrics.recent.observe(consumer, seconds, outcome.kind === 'handled');
    if (outcome.kind === 'handled') {
      const latencyMs = Math.max(0, Date.now() - Date.parse(envelope.time));
      metrics.endToEndLatency.observe(labels, latencyMs / 1000);
    }
    metrics.handled.inc({ consumer, type: envelope.type, outcome: outcome.kind, transport });
    return outcome;
  };
  // A `then`, not an async function with an await: one promise per delivery instead of two.
  return (next) => (delivery) => {
    const started = performance.now();
    let outcome: Promise<DeliveryOutcome>;
    try {
      outcome = next(delivery);
    } catch (error) {
      return Promise.reject(error); // first in the list: a failure reaches the transport as a rejection
    }
    return outcome.then((done) => record(delivery, started, done));
  };
}
