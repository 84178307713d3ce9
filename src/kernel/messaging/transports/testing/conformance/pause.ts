/**
 * Conformance cases: a consumer paused while a dependency of its handler is down
 * (DependencyUnavailableError). It takes nothing but one try per resume, none of them an attempt;
 * once the dependency is back it handles every message once, in per-key order, the message that
 * met the outage first, and nothing is dead-lettered. Other consumers keep flowing.
 */
import { describe, expect, it } from 'vitest';
import { eventually } from '../../../../testing/index.js';
import type { TransportFactory } from '../../../../testing/test-kernel.js';
import { DependencyUnavailableError } from '../../../errors.js';
import { type ConformanceFeatures, range, sleep, type Thing, things } from './fixtures.js';
import { useHarness } from './harness.js';

/** How long each pause lasts: the dependency says to try again this much later. */
const PAUSE_MS = 150;

interface Call {
  readonly id: string;
  readonly key: string;
  readonly n: number;
  readonly attempt: number;
  readonly down: boolean;
  readonly at: number;
}

export function describePauseCases(createTransport: TransportFactory, features: ConformanceFeatures) {
  describe('pause while a dependency is down', () => {
    const h = useHarness(createTransport, features);
    /** The handler's calls, and a dependency that is down while `outage.down` is set. */
    const dependency = (outage: { down: boolean }, work: () => Promise<void> = async () => {}) => {
      const calls: Call[] = [];
      h.behaviour.alpha = async (message, ctx) => {
        const { key, n } = message.data as Thing;
        calls.push({ id: message.id, key, n, attempt: ctx.attempt, down: outage.down, at: Date.now() });
        await work();
        if (outage.down) throw new DependencyUnavailableError('downstream', PAUSE_MS);
      };
      return calls;
    };
    const pausedGauge = async (consumer: string) =>
      new RegExp(`^bus_consumer_paused\\{consumer="${consumer}"\\} (\\d)$`, 'm').exec(
        await h.tk.kernel.renderMetrics(),
      )?.[1];
    /** Every key's `n`s in the order alpha handled them. */
    const byKey = async () => {
      const keys = new Map<string, number[]>();
      for (const { key, n } of await h.effects('alpha')) keys.set(key, [...(keys.get(key) ?? []), n ?? -1]);
      return keys;
    };

    it('takes nothing but one try per resume, then handles every message once, in per-key order, the paused one first', async () => {
      const outage = { down: true };
      const calls = dependency(outage);
      await h.start(); // alpha meets the outage; beta has no such dependency
      await h.stage(...things(1, 30, ['a', 'b', 'c', 'd']));
      await eventually(async () =>
        expect(h.tk.kernel.pausedConsumers()).toMatchObject([
          { consumer: 'alpha.things', dependency: 'downstream' },
        ]),
      );
      expect(await pausedGauge('alpha.things')).toBe('1');
      expect(await pausedGauge('beta.things')).toBe('0');
      expect(await h.tk.kernel.health()).toMatchObject({
        paused: { status: 'warn', detail: expect.stringContaining('alpha.things paused since') },
      });
      await eventually(async () => expect(await h.handled('beta')).toHaveLength(30)); // beta flows meanwhile
      await sleep(4 * PAUSE_MS);
      const now = Date.now();
      const whileDown = calls.length;
      const first = calls[0];
      // concurrency 1: the delivery that met the outage, then one try of that same message per
      // resume, each pause PAUSE_MS long at least
      expect(calls.every((call) => call.id === first?.id && call.attempt === 1)).toBe(true);
      expect(whileDown).toBeGreaterThanOrEqual(2);
      expect(whileDown).toBeLessThanOrEqual(1 + Math.floor((now - (first?.at ?? now)) / PAUSE_MS));
      expect(await h.handled('alpha')).toEqual([]);
      expect(await h.deadLetters('alpha')).toEqual([]);

      outage.down = false;
      await h.expectExactlyOnce(range(1, 30));
      expect(calls[whileDown]?.id).toBe(first?.id); // the paused message is the first after the outage
      expect(calls.slice(whileDown).every((call) => !call.down)).toBe(true);
      expect((await h.effects('alpha')).every((effect) => effect.attempt === 1)).toBe(true); // pauses are no attempts
      for (const [key, ns] of await byKey()) expect([key, ns]).toEqual([key, [...ns].sort((x, y) => x - y)]);
      expect(await h.deadLetters('alpha')).toEqual([]);
      expect(h.tk.kernel.pausedConsumers()).toEqual([]);
      expect(await pausedGauge('alpha.things')).toBe('0');
      expect((await h.tk.kernel.health()).paused).toBeUndefined();
    });

    it('pauses mid-stream with deliveries in flight, and keeps per-key order with concurrency 4', async () => {
      const outage = { down: false };
      const calls = dependency(outage, () => sleep(3));
      h.concurrency.alpha = 4;
      await h.start({ consumers: ['alpha'] });
      await h.stage(...things(1, 60, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']));
      await eventually(async () => expect((await h.handled('alpha')).length).toBeGreaterThanOrEqual(10));
      outage.down = true;
      const downAt = Date.now();
      const before = calls.length;
      await eventually(async () => expect(h.tk.kernel.pausedConsumers()).toHaveLength(1));
      await sleep(4 * PAUSE_MS);
      const tries = calls.length - before;
      outage.down = false;
      const upAt = Date.now();
      // at most the four in flight, then four per resume
      expect(tries).toBeLessThanOrEqual(4 * (2 + Math.floor((upAt - downAt) / PAUSE_MS)));
      await h.expectExactlyOnce(range(1, 60), ['alpha']);
      for (const [key, ns] of await byKey()) expect([key, ns]).toEqual([key, [...ns].sort((x, y) => x - y)]);
      expect((await h.effects('alpha')).every((effect) => effect.attempt === 1)).toBe(true);
      expect(await h.deadLetters('alpha')).toEqual([]);
      const outcomes = (await h.tk.kernel.metrics.handled.get()).values.filter(
        ({ labels }) => labels.consumer === 'alpha.things' && labels.outcome === 'paused',
      );
      expect(outcomes.reduce((sum, { value }) => sum + value, 0)).toBeGreaterThan(0);
    });
  });
}
