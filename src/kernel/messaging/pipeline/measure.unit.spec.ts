import { describe, expect, it } from 'vitest';
import { KernelMetrics } from '../../observability/metrics.js';
import { createEnvelope } from '../envelope.js';
import type { DeliveryOutcome } from '../transport.js';
import { measure } from './measure.js';
import { Delivery, HANDLED } from './pipeline.js';

const envelope = createEnvelope(
  { type: 'source.thing-happened', schemaversion: 1, partitionkey: 'k', data: {} },
  'source',
  { correlationId: 'c1', causationId: null },
);

/** Runs one delivery through measure, with `decoded` deciding whether the step after it decodes. */
async function measured(metrics: KernelMetrics, outcome: DeliveryOutcome, decoded: boolean) {
  const deliver = measure({ name: 'alpha.things', metrics, transport: 'memory' })((d) => {
    if (decoded) d.decodedAs(envelope);
    return Promise.resolve(outcome);
  });
  expect(await deliver(new Delivery('{}', 1, undefined))).toBe(outcome);
}

const samples = async (metrics: KernelMetrics) => ({
  handled: (await metrics.handled.get()).values.map((v) => ({ labels: v.labels, value: v.value })),
  durations: (await metrics.handlerDuration.get()).values.filter((v) => v.metricName?.endsWith('_count')),
  latencies: (await metrics.endToEndLatency.get()).values.filter((v) => v.metricName?.endsWith('_count')),
});

describe('measure', () => {
  it("counts a message that does not decode under type 'unknown', and times nothing for it", async () => {
    const metrics = new KernelMetrics();
    await measured(metrics, { kind: 'dead-lettered', error: 'BadMessageError: not JSON' }, false);
    const { handled, durations, latencies } = await samples(metrics);
    expect(handled).toEqual([
      {
        labels: { consumer: 'alpha.things', type: 'unknown', outcome: 'dead-lettered', transport: 'memory' },
        value: 1,
      },
    ]);
    expect(durations).toEqual([]);
    expect(latencies).toEqual([]);
  });

  it('times every decoded delivery, and takes its end-to-end latency only when handled', async () => {
    const metrics = new KernelMetrics();
    await measured(metrics, HANDLED, true);
    await measured(metrics, { kind: 'retry', delayMs: 100, error: 'Error: boom' }, true);
    const { handled, durations, latencies } = await samples(metrics);
    const labels = { consumer: 'alpha.things', type: envelope.type, transport: 'memory' };
    expect(handled).toEqual([
      { labels: { ...labels, outcome: 'handled' }, value: 1 },
      { labels: { ...labels, outcome: 'retry' }, value: 1 },
    ]);
    expect(durations.map((v) => [v.labels, v.value])).toEqual([
      [{ consumer: 'alpha.things', type: envelope.type }, 2],
    ]);
    expect(latencies.map((v) => [v.labels, v.value])).toEqual([
      [{ consumer: 'alpha.things', type: envelope.type }, 1],
    ]);
  });
});
