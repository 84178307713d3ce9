/**
 * Conformance cases: schema versions. An older version is upcast before the handler sees it; a
 * newer one (published by a newer build) is read as this build's newest when it validates as
 * that, else held: never dead-lettered, its key held back, other keys flowing, holds not counted
 * as attempts, readiness warning and `bus_messages_held` counting it meanwhile.
 */
import { describe, expect, it } from 'vitest';
import { eventually } from '../../../../testing/index.js';
import type { TransportFactory } from '../../../../testing/test-kernel.js';
import { type ConformanceFeatures, itemPriced, rawEnvelope } from './fixtures.js';
import { useHarness } from './harness.js';

const priced = (key: string, cents: number) => itemPriced({ key, cents });

export function describeSchemaVersionCases(createTransport: TransportFactory, features: ConformanceFeatures) {
  describe('schema versions', () => {
    const h = useHarness(createTransport, features);
    const seen = async () =>
      (await h.effects('alpha')).map((e) => ({
        key: e.key,
        version: e.schemaversion,
        data: JSON.parse(e.data),
      }));
    /** `bus_messages_handled_total` of alpha.things for item-priced with this outcome. */
    const outcomes = async (outcome: string) => {
      const { values } = await h.tk.kernel.metrics.handled.get();
      const found = values.find(
        ({ labels }) =>
          labels.consumer === 'alpha.things' && labels.type === itemPriced.type && labels.outcome === outcome,
      );
      return found?.value ?? 0;
    };

    it.runIf(features.injectRaw)('upcasts an older schema version before the handler sees it', async () => {
      await h.start({ consumers: ['alpha'] });
      await h.inject('alpha', rawEnvelope('source.item-priced', { key: 'k', price: 12.5 }, 1, 'k'));
      await h.stage(priced('k', 99));
      await eventually(async () => expect(await h.effects('alpha')).toHaveLength(2));
      expect((await seen()).map(({ version, data }) => ({ version, data }))).toEqual([
        { version: 2, data: { key: 'k', cents: 1250 } },
        { version: 2, data: { key: 'k', cents: 99 } },
      ]);
    });

    it.runIf(features.injectRaw)(
      'reads a newer version that validates as its newest; holds one that does not, its key waiting, never dead-lettered',
      async () => {
        await h.start({ consumers: ['alpha'] }); // holds every 20 ms, 3 attempts (FAST_RETRY)
        // v3 as a newer build publishes it: `cents` became `amount` (unreadable as v2) …
        await h.inject(
          'alpha',
          rawEnvelope(itemPriced.type, { key: 'held', amount: { cents: 5 } }, 3, 'held'),
        );
        // … and another v3 that also reads as v2 (a field v2 does not know, ignored)
        await h.inject(
          'alpha',
          rawEnvelope(itemPriced.type, { key: 'r', cents: 3, currency: 'EUR' }, 3, 'r'),
        );
        await h.stage(priced('held', 1), priced('free', 2));
        await eventually(async () =>
          expect(await seen()).toEqual(
            expect.arrayContaining([
              { key: 'r', version: 2, data: { key: 'r', cents: 3, currency: 'EUR' } },
              { key: 'free', version: 2, data: { key: 'free', cents: 2 } },
            ]),
          ),
        );
        // held well past the 3 attempts a failure gets, and still not dead-lettered
        await eventually(async () => expect(await outcomes('held')).toBeGreaterThan(5));
        expect(await h.deadLetters('alpha')).toEqual([]);
        expect((await seen()).map((e) => e.key)).not.toContain('held'); // nor the v2 behind it (same key)
        expect(await h.tk.kernel.health()).toMatchObject({
          held: {
            status: 'warn',
            detail: expect.stringContaining(
              'alpha.things holds 1 message(s) of source.item-priced v3 (this build reads v2)',
            ),
          },
        });
        expect(await h.tk.kernel.renderMetrics()).toMatch(
          /^bus_messages_held\{consumer="alpha.things"\} 1$/m,
        );
      },
    );
  });
}
