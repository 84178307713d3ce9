/** Conformance cases: retries, backoff, dead letters and replay, bad messages, isolation. */
import { describe, expect, it } from 'vitest';
import { eventually } from '../../../../testing/index.js';
import type { TransportFactory } from '../../../../testing/test-kernel.js';
import { NonRetryableError } from '../../../errors.js';
import {
  type ConformanceFeatures,
  fails,
  range,
  rawEnvelope,
  sorted,
  type Thing,
  thing,
  things,
} from './fixtures.js';
import { useHarness } from './harness.js';

export function describeFailureCases(createTransport: TransportFactory, features: ConformanceFeatures) {
  describe('failures', () => {
    const h = useHarness(createTransport, features);

    it('redelivers after a throw, counting attempts', async () => {
      const attempts: number[] = [];
      h.behaviour.alpha = (_m, ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt < 3) fails(`attempt ${ctx.attempt} fails`);
      };
      await h.start({ consumers: ['alpha'] });
      await h.stage(thing('a', 1));
      await eventually(async () => expect(await h.effects('alpha')).toMatchObject([{ n: 1, attempt: 3 }]));
      await h.settled();
      expect(attempts).toEqual([1, 2, 3]);
      expect(await h.deadLetters('alpha')).toEqual([]);
    });

    it('retries after 100 ms, then 200 ms', async () => {
      const at: number[] = [];
      h.behaviour.alpha = (_m, ctx) => {
        at.push(Date.now());
        if (ctx.attempt < 3) fails('not yet');
      };
      await h.start({
        consumers: ['alpha'],
        retry: { attempts: 3, initialDelayMs: 100, factor: 2, holdDelayMs: 20 },
      });
      await h.stage(thing('a', 1));
      await eventually(async () => expect(await h.handled('alpha')).toEqual([1]));
      const [first = 0, second = 0, third = 0] = at;
      expect(at).toHaveLength(3);
      expect(second - first).toBeGreaterThanOrEqual(100);
      expect(second - first).toBeLessThan(100 + 400); // loose: a busy 2-core CI machine
      expect(third - second).toBeGreaterThanOrEqual(200);
      expect(third - second).toBeLessThan(200 + 400);
    });

    it('dead-letters after the 3rd attempt, keeping the error and the envelope', async () => {
      const attempts: number[] = [];
      h.behaviour.alpha = (m, ctx) => {
        attempts.push(ctx.attempt);
        fails(`kaput ${(m.data as Thing).n}`);
      };
      await h.start();
      await h.stage(thing('a', 7));
      const [letter] = await eventually(async () => {
        const letters = await h.deadLetters('alpha');
        expect(letters).toHaveLength(1);
        return letters;
      });
      expect(letter).toMatchObject({
        consumer: 'alpha.things',
        queue: 'dlq.alpha.retry',
        attempts: 3,
        event: { type: 'source.thing-happened', source: 'source', data: { key: 'a', n: 7 } },
      });
      expect(letter?.error).toContain('kaput 7');
      await h.settled();
      expect(attempts).toEqual([1, 2, 3]);
      expect(await h.handled('alpha')).toEqual([]);
      expect(await h.handled('beta')).toEqual([7]);
    });

    it('replays dead letters once the cause is fixed: handled once, dead letters gone', async () => {
      let broken = true;
      h.behaviour.alpha = () => {
        if (broken) fails('cause not fixed yet');
      };
      await h.start({ consumers: ['alpha'] });
      await h.stage(thing('a', 1), thing('b', 2), thing('c', 3));
      const letters = await eventually(async () => {
        const found = await h.deadLetters('alpha');
        expect(found).toHaveLength(3);
        return found;
      });
      broken = false;
      const [first] = letters;
      if (!first || typeof first.event === 'string') throw new Error('expected a dead-lettered envelope');
      const firstN = (first.event.data as Thing).n;
      expect(await h.tk.kernel.replayDeadLetter(first.id)).toBe(true);
      await eventually(async () => expect(await h.handled('alpha')).toEqual([firstN]));
      expect(await h.tk.kernel.replayDeadLetters({ consumer: 'alpha.things' })).toBe(2);
      await eventually(async () => expect(sorted(await h.handled('alpha'))).toEqual([1, 2, 3]));
      await h.settled();
      expect(sorted(await h.handled('alpha'))).toEqual([1, 2, 3]);
      expect(await h.deadLetters('alpha')).toEqual([]);
      expect(await h.tk.kernel.replayDeadLetter(first.id)).toBe(false);
    });

    it('sends a NonRetryableError straight to the dead letters', async () => {
      const attempts: number[] = [];
      h.behaviour.alpha = (_m, ctx) => {
        attempts.push(ctx.attempt);
        throw new NonRetryableError('request makes no sense');
      };
      await h.start({ consumers: ['alpha'] });
      await h.stage(thing('a', 1));
      await eventually(async () => expect(await h.deadLetters('alpha')).toMatchObject([{ attempts: 1 }]));
      expect((await h.deadLetters('alpha'))[0]?.error).toContain('request makes no sense');
      await h.settled();
      expect(attempts).toEqual([1]);
    });

    it.runIf(features.injectRaw)('dead-letters bad messages with the reason, and keeps going', async () => {
      await h.start();
      const notJson = '{"specversion": "1.0", "id": ';
      await h.inject('alpha', notJson);
      await h.inject('alpha', 'null');
      await h.inject('alpha', '{"id": {"nested": true}, "type": ["source.thing-happened"]}');
      await h.inject('alpha', rawEnvelope('source.never-declared', { key: 'x', n: 1 }, 1, 'x'));
      await h.inject('alpha', rawEnvelope('source.thing-happened', { key: 'x', n: 'one' }, 1, 'x'));
      await h.stage(thing('x', 2));
      const reasons = {
        'not JSON': 1,
        'not an envelope': 2,
        'unknown message type': 1,
        'schema violation': 1,
      };
      const expectLetters = () =>
        eventually(async () => {
          const letters = await h.deadLetters('alpha');
          const counts = Object.keys(reasons).map((r) => [
            r,
            letters.filter((l) => l.error.includes(r)).length,
          ]);
          expect(Object.fromEntries(counts)).toEqual(reasons);
          expect(letters).toHaveLength(5);
          return letters;
        });
      const letters = await expectLetters();
      expect(letters.find((l) => l.error.includes('not JSON'))?.event).toBe(notJson);
      await h.expectExactlyOnce([2]);
      // Replaying them changes nothing: each is dead-lettered again, with its reason.
      expect(await h.tk.kernel.replayDeadLetters({ consumer: 'alpha.things' })).toBe(5);
      await h.settled();
      const again = await expectLetters();
      expect(again.map((l) => l.id)).not.toContain(letters[0]?.id);
      await h.expectExactlyOnce([2]);
      expect(await h.tk.kernel.transport.health()).toMatchObject({ ok: true });
    });

    it('isolates consumers: beta handles everything while alpha always throws', async () => {
      h.behaviour.alpha = () => fails('alpha is broken');
      await h.start();
      await h.stage(...things(1, 12));
      await eventually(async () => expect(sorted(await h.handled('beta'))).toEqual(range(1, 12)));
      await eventually(async () => expect(await h.deadLetters('alpha')).toHaveLength(12));
      await h.settled();
      expect(await h.handled('alpha')).toEqual([]);
      expect(await h.deadLetters('beta')).toEqual([]);
    });
  });
}
