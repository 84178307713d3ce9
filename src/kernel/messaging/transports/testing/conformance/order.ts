/** Conformance cases: per-key order under concurrency, poison keys, no starvation. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventually } from '../../../../testing/index.js';
import type { TransportFactory } from '../../../../testing/test-kernel.js';
import { type ConformanceFeatures, fails, range, sleep, sorted, type Thing, thing } from './fixtures.js';
import { useHarness } from './harness.js';

export function describeOrderCases(createTransport: TransportFactory, features: ConformanceFeatures) {
  describe('order', () => {
    const h = useHarness(createTransport, features);

    it('keeps per-key order with concurrency 4, whatever the interleaving and handler delays', async () => {
      const delays = new Map<number, number>();
      const inFlight = new Set<string>();
      const overlaps: string[] = [];
      let maxInFlight = 0;
      h.concurrency.alpha = 4;
      h.behaviour.alpha = async (m) => {
        const { key, n } = m.data as Thing;
        if (inFlight.has(key)) overlaps.push(key);
        inFlight.add(key);
        maxInFlight = Math.max(maxInFlight, inFlight.size);
        await sleep(delays.get(n) ?? 0);
        inFlight.delete(key);
      };
      await h.start({ consumers: ['alpha'] });
      let run = 0;
      let next = 0;
      const message = fc.record({
        key: fc.integer({ min: 0, max: 4 }),
        delayMs: fc.integer({ min: 0, max: 12 }),
      });
      const spread = [0, 1, 2, 3, 0, 1, 2, 3].map((key) => ({ key, delayMs: 10 }));
      await fc.assert(
        fc.asyncProperty(
          fc.array(message, { minLength: 1, maxLength: 25 }),
          fc.integer({ min: 1, max: 8 }),
          async (messages, batch) => {
            run++;
            const published = messages.map(({ key, delayMs }) => {
              delays.set(++next, delayMs);
              return { key: `r${run}-k${key}`, n: next };
            });
            for (let i = 0; i < published.length; i += batch) {
              await h.stage(...published.slice(i, i + batch).map((p) => thing(p.key, p.n)));
            }
            const keys = new Set(published.map((p) => p.key));
            const handled = await eventually(async () => {
              const rows = (await h.effects('alpha')).filter((e) => keys.has(e.key));
              expect(rows).toHaveLength(published.length);
              return rows;
            });
            for (const key of keys) {
              const inOrder = (rows: { key: string; n: number | null }[]) =>
                rows.filter((r) => r.key === key).map((r) => r.n);
              expect(inOrder(handled)).toEqual(inOrder(published));
            }
            expect(overlaps).toEqual([]);
          },
        ),
        { numRuns: 15, examples: [[spread, 8]] },
      );
      expect(maxInFlight).toBeGreaterThan(1);
      expect(maxInFlight).toBeLessThanOrEqual(4);
    });

    it('holds back only the poison key; after its dead letter, that key flows again', async () => {
      const lastAttempt = h.gate();
      const attempts: number[] = [];
      h.concurrency.alpha = 2;
      h.behaviour.alpha = async (m, ctx) => {
        const { key, n } = m.data as Thing;
        if (key !== 'poison' || n !== 1) return;
        attempts.push(ctx.attempt);
        if (ctx.attempt === 3) await lastAttempt.promise;
        fails('poison always fails');
      };
      await h.start({ consumers: ['alpha'] });
      await h.stage(thing('poison', 1), thing('poison', 2), thing('a', 3), thing('b', 4), thing('poison', 5));
      await eventually(async () => expect(attempts).toEqual([1, 2, 3])); // still retrying: held in its last attempt
      await h.stage(thing('a', 6), thing('b', 7));
      await eventually(async () => expect(sorted(await h.handled('alpha'))).toEqual([3, 4, 6, 7]));
      expect(await h.deadLetters('alpha')).toEqual([]);
      lastAttempt.open();
      await eventually(async () => expect(await h.deadLetters('alpha')).toHaveLength(1));
      await eventually(async () =>
        expect((await h.effects('alpha')).filter((e) => e.key === 'poison').map((e) => e.n)).toEqual([2, 5]),
      );
      await h.settled();
      expect(attempts).toEqual([1, 2, 3]);
    });

    it('keeps a healthy key flowing while many other keys wait to be retried', async () => {
      const failed = new Map<string, number>();
      h.behaviour.alpha = (m, ctx) => {
        const { key } = m.data as Thing;
        if (!key.startsWith('failing')) return;
        failed.set(key, ctx.attempt);
        fails('downstream is down');
      };
      await h.start({ consumers: ['alpha'], retry: { attempts: 2, initialDelayMs: 3000 } });
      await h.stage(...range(1, 40).map((n) => thing(`failing-${n}`, n)));
      await eventually(async () => expect(failed.size).toBe(40));
      await h.stage(thing('healthy', 41));
      await eventually(async () => expect(await h.handled('alpha')).toEqual([41]), { timeoutMs: 2000 });
      expect([...failed.values()].every((attempt) => attempt === 1)).toBe(true); // none retried yet
    });
  });
}
