/**
 * One conformance suite, every transport (after Watermill's universal Pub/Sub tests). Each
 * transport's spec calls `describeTransportConformance`; every case drives the whole kernel path:
 * a module stages in a transaction, the relay publishes, the transport delivers to consumers
 * whose handlers record their effects in their own module databases.
 */
import { describe, expect, it } from 'vitest';
import { eventually } from '../../../../testing/index.js';
import type { TransportFactory } from '../../../../testing/test-kernel.js';
import { describeFailureCases } from './failures.js';
import {
  CONSUMER_MODULES,
  type ConformanceFeatures,
  type Effect,
  itemPriced,
  nobodyListens,
  range,
  sleep,
  thing,
  thingHappened,
  things,
} from './fixtures.js';
import { useHarness } from './harness.js';
import { describeOrderCases } from './order.js';
import { describePauseCases } from './pause.js';
import { describeSchemaVersionCases } from './versions.js';

export type { ConformanceFeatures } from './fixtures.js';

const priced = (key: string, cents: number) => itemPriced({ key, cents });
/** The cents of every item-priced message a consumer handled, in handling order. */
const pricesHandled = (effects: readonly Effect[]) =>
  effects
    .filter((effect) => effect.type === itemPriced.type)
    .map((effect) => (JSON.parse(effect.data) as { cents: number }).cents);

/**
 * Declares the suite for one transport. `createTransport` is called once per kernel start.
 * With `features.skip` the suite is skipped with a warning, or fails when REQUIRE_BROKERS=1.
 */
export function describeTransportConformance(
  name: string,
  createTransport: TransportFactory,
  features: ConformanceFeatures,
): void {
  const title = `transport conformance: ${name}`;
  if (features.skip && process.env.REQUIRE_BROKERS === '1') {
    describe(title, () => {
      it('runs, because REQUIRE_BROKERS=1', () => {
        throw new Error(`${name} conformance cannot run: ${features.skip}`);
      });
    });
    return;
  }
  if (features.skip) console.warn(`skipping ${title}: ${features.skip}`);
  (features.skip ? describe.skip : describe)(title, () => {
    describeDeliveryCases(createTransport, features);
    describeFailureCases(createTransport, features);
    describeOrderCases(createTransport, features);
    describeSchemaVersionCases(createTransport, features);
    describePauseCases(createTransport, features);
  });
}

function describeDeliveryCases(createTransport: TransportFactory, features: ConformanceFeatures) {
  describe('delivery', () => {
    const h = useHarness(createTransport, features);

    it('delivers every message to every subscribed consumer, once in effect', async () => {
      await h.start();
      await h.stage(...things(1, 10));
      await h.stage(...things(11, 25));
      await h.expectExactlyOnce(range(1, 25));
    });

    it('publishes with no consumer at all: the row is marked published', async () => {
      await h.start({ consumers: [] });
      await h.stage(thing('a', 1));
      await eventually(async () =>
        expect(await h.tk.kernel.outboxStats()).toMatchObject([{ pending: 0, published: 1 }]),
      );
      expect(await h.tk.kernel.transport.health()).toMatchObject({ ok: true });
    });

    it('marks a type nobody subscribes to as published, and consumers keep working', async () => {
      await h.start();
      await h.stage(nobodyListens({ n: 1 }), thing('a', 2));
      await h.expectExactlyOnce([2]);
      const source = (await h.tk.kernel.outboxStats()).find((s) => s.module === 'source');
      expect(source).toMatchObject({ pending: 0, published: 2 });
    });

    it('delivers what was published before its consumers ever ran, once, when they start', async () => {
      await h.start({ consumers: [], catalogue: CONSUMER_MODULES }); // publisher only: nobody has run alpha or beta
      await h.stage(...things(1, 10));
      const source = async () => (await h.tk.kernel.outboxStats()).find((s) => s.module === 'source');
      // published: they wait in the queues provisioned for alpha and beta (on memory: their databases)
      await eventually(async () => expect(await source()).toMatchObject({ pending: 0, published: 10 }));
      await h.restart(CONSUMER_MODULES);
      await h.expectExactlyOnce(range(1, 10));
    });

    it('stops after the handlers in flight, and loses nothing across close and reopen', async () => {
      const gate = h.gate();
      let entered = 0;
      let finished = 0;
      h.behaviour.alpha = async () => {
        entered++;
        await gate.promise;
        await sleep(20); // a handler still busy when the kernel is asked to stop
        finished++;
      };
      await h.start();
      await h.stage(...things(1, 10));
      await eventually(async () => expect(entered).toBeGreaterThan(0)); // alpha is inside its first message
      const stopping = h.tk.stop();
      gate.open();
      await stopping;
      expect(finished).toBe(entered);
      await h.restart();
      await h.expectExactlyOnce(range(1, 10)); // resumed with nothing new published
      await h.stage(...things(11, 20)); // committed; the kernel stops before the relay publishes them
      await h.restart();
      await h.expectExactlyOnce(range(1, 20));
    });

    it('routes a type at run time: its messages reach the consumer from then on, not before', async () => {
      h.typesAtStart.alpha = [thingHappened.type];
      await h.start();
      await h.stage(priced('a', 100));
      await eventually(async () => expect(pricesHandled(await h.effects('beta'))).toEqual([100]));
      await h.settled();
      expect(pricesHandled(await h.effects('alpha'))).toEqual([]); // not routed to alpha: no delivery at all
      const alpha = h.tk.context('alpha');
      await expect(alpha.routeTypes('alpha.things', [nobodyListens.type])).rejects.toThrow(/does not handle/);
      await alpha.routeTypes('alpha.things', [itemPriced.type]);
      await h.stage(priced('a', 200));
      await eventually(async () => expect(pricesHandled(await h.effects('alpha'))).toEqual([200]));
      await h.settled();
      expect(pricesHandled(await h.effects('alpha'))).toEqual([200]);
      expect(pricesHandled(await h.effects('beta'))).toEqual([100, 200]);
    });

    it.runIf(features.restartBroker)(
      'loses nothing when the broker restarts mid-stream, and keeps the routes added at run time',
      async () => {
        h.typesAtStart.alpha = [thingHappened.type];
        await h.start();
        await h.tk.context('alpha').routeTypes('alpha.things', [itemPriced.type]);
        await h.stage(...things(1, 10));
        await eventually(async () => expect((await h.handled('alpha')).length).toBeGreaterThan(0));
        await features.restartBroker?.();
        await h.stage(...things(11, 20));
        await h.expectExactlyOnce(range(1, 20));
        await h.restart(); // subscribes again with only its start types: the route added stays
        await h.stage(priced('a', 300));
        await eventually(async () => expect(pricesHandled(await h.effects('alpha'))).toEqual([300]));
      },
    );
  });
}
