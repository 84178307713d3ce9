import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../testing/index.js';
import { DependencyUnavailableError } from './errors.js';
import { createMemoryTransport } from './transports/memory/memory.js';
import {
  FAST_RETRY,
  fails,
  itemPriced,
  rawEnvelope,
  thingHappened,
} from './transports/testing/conformance/fixtures.js';
import { Harness } from './transports/testing/conformance/harness.js';

/** Exactly-once effect: the handler's writes and its inbox record commit together. */
describe('consumer: a duplicate delivery changes nothing', () => {
  let h: Harness;
  let calls = 0;
  const raw = rawEnvelope('source.thing-happened', { key: 'k', n: 1 }, 1, 'k');

  beforeEach(async () => {
    h = new Harness(createMemoryTransport);
    calls = 0;
    h.behaviour.alpha = () => {
      calls++;
    };
  });
  afterEach(() => h.dispose());

  it('handles an envelope delivered twice once: one row, the second outcome is duplicate', async () => {
    await h.start({ consumers: ['alpha'] });
    const endpoint = h.endpoint('alpha');
    expect(await endpoint.deliver(raw, 1)).toEqual({ kind: 'handled' });
    expect(await endpoint.deliver(raw, 1)).toEqual({ kind: 'duplicate' });
    expect(await h.handled('alpha')).toEqual([1]);
    expect(calls).toBe(1);
  });

  it('handles the same raw envelope redelivered through the transport once', async () => {
    await h.start({ consumers: ['alpha'] });
    const { kernel } = h.tk;
    await kernel.transport.redeliver(h.endpoint('alpha'), raw);
    await eventually(async () => expect(await h.handled('alpha')).toEqual([1]));
    await kernel.transport.redeliver(h.endpoint('alpha'), raw);
    await h.settled();
    expect(await h.handled('alpha')).toEqual([1]);
    expect(calls).toBe(1);
  });

  it('returns false from transact for the copy that loses a race, and commits nothing for it', async () => {
    const gate = h.gate();
    h.behaviour.alpha = async () => {
      calls++;
      await gate.promise; // both copies are past the inbox check before either commits
    };
    await h.start({ consumers: ['alpha'] });
    const endpoint = h.endpoint('alpha');
    const both = Promise.all([endpoint.deliver(raw, 1), endpoint.deliver(raw, 1)]);
    await eventually(async () => expect(calls).toBe(2));
    gate.open();
    const kinds = (await both).map((outcome) => outcome.kind);
    expect(kinds.sort()).toEqual(['duplicate', 'handled']);
    expect(h.transacted.alpha.sort()).toEqual([false, true]);
    expect(await h.handled('alpha')).toEqual([1]);
  });

  it('records the inbox entry of a handler that never calls transact', async () => {
    h.records.alpha = false;
    await h.start({ consumers: ['alpha'] });
    const endpoint = h.endpoint('alpha');
    expect(await endpoint.deliver(raw, 1)).toEqual({ kind: 'handled' });
    expect(await endpoint.deliver(raw, 2)).toEqual({ kind: 'duplicate' });
    expect(calls).toBe(1);
  });

  it('records nothing for a failed attempt, so the retry is handled', async () => {
    h.behaviour.alpha = (_m, ctx) => {
      calls++;
      if (ctx.attempt === 1) fails('first attempt fails');
    };
    await h.start({ consumers: ['alpha'], retry: FAST_RETRY });
    const endpoint = h.endpoint('alpha');
    expect(await endpoint.deliver(raw, 1)).toMatchObject({ kind: 'retry', delayMs: 5 });
    expect(await endpoint.deliver(raw, 2)).toEqual({ kind: 'handled' });
    expect(await h.effects('alpha')).toMatchObject([{ n: 1, attempt: 2 }]);
  });

  it('neither retries nor dead-letters a message whose transaction committed before the handler threw', async () => {
    h.records.alpha = false;
    h.behaviour.alpha = async (_m, ctx) => {
      calls++;
      await ctx.transact(() => {});
      fails('a follow-up after the commit failed');
    };
    await h.start({ consumers: ['alpha'] });
    const endpoint = h.endpoint('alpha');
    expect(await endpoint.deliver(raw, 3)).toEqual({ kind: 'handled' }); // the last attempt
    expect(await endpoint.deliver(raw, 1)).toEqual({ kind: 'duplicate' });
    expect(await h.deadLetters('alpha')).toEqual([]);
    expect(calls).toBe(1);
  });
});

describe('consumer: dead-lettering is settled once', () => {
  let h: Harness;
  const raw = rawEnvelope('source.thing-happened', { key: 'k', n: 7 }, 1, 'k');
  afterEach(() => h.dispose());

  it('does not dead-letter a redelivered copy twice (a lost broker ack), and replay still works', async () => {
    h = new Harness(createMemoryTransport);
    let broken = true;
    h.behaviour.alpha = () => {
      if (broken) fails('always broken');
    };
    await h.start({ consumers: ['alpha'], retry: FAST_RETRY });
    const endpoint = h.endpoint('alpha');
    expect(await endpoint.deliver(raw, 3)).toMatchObject({ kind: 'dead-lettered' });
    expect(await endpoint.deliver(raw, 1)).toEqual({ kind: 'duplicate' });
    expect((await h.tk.kernel.listDeadLetters({ consumer: 'alpha.things' })).items).toHaveLength(1);
    broken = false;
    expect(await h.tk.kernel.replayDeadLetters({ consumer: 'alpha.things' })).toBe(1);
    await eventually(async () => expect(await h.handled('alpha')).toEqual([7]));
    expect((await h.tk.kernel.listDeadLetters()).items).toEqual([]);
  });
});

describe('consumer: a dependency down pauses it', () => {
  let h: Harness;
  afterEach(() => h.dispose());

  it('answers paused, even on the last attempt, writes nothing, and resumes when told to try again', async () => {
    h = new Harness(createMemoryTransport);
    let down = true;
    h.behaviour.alpha = () => {
      if (down) throw new DependencyUnavailableError('mail server', 200);
    };
    await h.start({ consumers: ['alpha'], retry: FAST_RETRY });
    const endpoint = h.endpoint('alpha');
    const raw = rawEnvelope('source.thing-happened', { key: 'k', n: 1 }, 1, 'k');
    let resumed = 0;
    endpoint.flow?.onResume(() => resumed++);
    expect(await endpoint.deliver(raw, 3)).toEqual({
      kind: 'paused',
      dependency: 'mail server',
      error: 'DependencyUnavailableError: mail server is unavailable; try again in 200 ms',
    });
    expect(endpoint.flow?.paused).toBe(true);
    expect(h.tk.kernel.pausedConsumers()).toMatchObject([
      { consumer: 'alpha.things', dependency: 'mail server' },
    ]);
    expect((await h.tk.kernel.listDeadLetters()).items).toEqual([]);
    expect(await h.handled('alpha')).toEqual([]);
    await eventually(async () => expect(endpoint.flow?.paused).toBe(false));
    expect(resumed).toBe(1);
    down = false;
    expect(await endpoint.deliver(raw, 3)).toEqual({ kind: 'handled' }); // the same attempt, now handled
    expect(await h.handled('alpha')).toEqual([1]);
    expect(h.tk.kernel.pausedConsumers()).toEqual([]);
  });
});

describe('consumer: types routed at run time', () => {
  let h: Harness;
  afterEach(() => h.dispose());

  it('takes a type as routed only once the transport has routed it, so a failed call can be retried', async () => {
    const asked: string[][] = [];
    let failures = 1;
    h = new Harness((log) => {
      const transport = createMemoryTransport(log);
      return {
        ...transport,
        route: async (endpoint, types) => {
          asked.push([...types]);
          if (failures-- > 0) throw new Error('broker away');
          await transport.route(endpoint, types);
        },
      };
    });
    h.typesAtStart.alpha = [thingHappened.type];
    await h.start({ consumers: ['alpha'] });
    const alpha = h.tk.context('alpha');
    await expect(alpha.routeTypes('alpha.things', [itemPriced.type])).rejects.toThrow('broker away');
    expect(h.endpoint('alpha').types).toEqual([thingHappened.type]);
    await alpha.routeTypes('alpha.things', [itemPriced.type]);
    await alpha.routeTypes('alpha.things', [itemPriced.type, thingHappened.type]); // nothing new to route
    expect(asked).toEqual([[itemPriced.type], [itemPriced.type]]);
    expect(h.endpoint('alpha').types).toEqual([thingHappened.type, itemPriced.type]);
    await expect(alpha.routeTypes('alpha.nothing', [itemPriced.type])).rejects.toThrow(
      /no consumer alpha.nothing/,
    );
  });
});
