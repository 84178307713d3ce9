import type { Middleware } from './pipeline.js';
import type { ConsumerScope } from './scope.js';

/**
 * Counts every delivery by outcome (`bus_messages_handled_total`, type 'unknown' for a message
 * that could not be decoded) and, for a decoded one, the time the pipeline took; the end-to-end
 * latency (from the message's time) only for a handled one. First in the list, so it times and
 * counts everything after it, decode included.
 */
export function measure(scope: Pick<ConsumerScope, 'name' | 'metrics' | 'transport'>): Middleware {
  const { name: consumer, metrics, transport } = scope;
  return (next) => async (delivery) => {
    const started = performance.now();
    const outcome = await next(delivery);
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
}
