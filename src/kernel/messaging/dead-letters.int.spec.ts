/**
 * Replaying a dead letter: the first replay clears the consumer's inbox mark and redelivers; a
 * replay interrupted after its redelivery (a crash before the letter was deleted) is replayed
 * again without clearing the mark, so the message takes effect once.
 */
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { defineModule } from '../modules/module.js';
import type { Logger } from '../observability/logger.js';
import { eventually, startTestKernel, type TestKernel } from '../testing/index.js';
import { on } from './subscription.js';
import type { Transport } from './transport.js';
import { createMemoryTransport } from './transports/memory/memory.js';
import {
  FAST_RETRY,
  fails,
  type Thing,
  thing,
  thingHappened,
} from './transports/testing/conformance/fixtures.js';

describe('dead-letter replay', () => {
  let tk: TestKernel | undefined;
  afterEach(() => tk?.dispose());

  /** alpha records each effect in a table; it fails while `failing` is set. */
  const start = async (crashAfterRedeliver: { armed: boolean }, failing: { on: boolean }) => {
    tk = await startTestKernel({
      retry: FAST_RETRY,
      // a transport whose redeliver, once armed, accepts the message and then "crashes"
      transport: (log: Logger): Transport => {
        const inner = createMemoryTransport(log);
        return {
          ...inner,
          name: inner.name,
          publish: (messages) => inner.publish(messages),
          subscribe: (endpoint) => inner.subscribe(endpoint),
          stats: () => inner.stats(),
          health: () => inner.health(),
          close: () => inner.close(),
          redeliver: async (endpoint, raw) => {
            await inner.redeliver(endpoint, raw);
            if (crashAfterRedeliver.armed) {
              crashAfterRedeliver.armed = false;
              throw new Error('the process died after the redelivery');
            }
          },
        };
      },
      modules: [
        defineModule({ name: 'source', messages: [thingHappened] }),
        defineModule({
          name: 'alpha',
          start: (ctx) =>
            ctx.transact(
              (tx) =>
                void tx.db.run(sql.raw('CREATE TABLE IF NOT EXISTS alpha_effects (n INTEGER NOT NULL)')),
            ),
          subscriptions: [
            {
              consumer: 'alpha.things',

              handlers: [
                on([thingHappened], async (message, ctx) => {
                  if (failing.on) fails('the handler is broken');
                  const { n } = message.data as Thing;
                  await ctx.transact(
                    (tx) => void tx.db.run(sql`INSERT INTO alpha_effects (n) VALUES (${n})`),
                  );
                }),
              ],
            },
          ],
        }),
      ],
    });
    return tk;
  };

  it('applies a message once when a replay is interrupted after its redelivery and replayed again', async () => {
    const crash = { armed: false };
    const failing = { on: true };
    const k = await start(crash, failing);
    await k.context('source').transact((tx) => tx.stage(thing('k', 7)));
    await eventually(async () =>
      expect((await k.kernel.listDeadLetters({ consumer: 'alpha.things' })).items).toHaveLength(1),
    );
    const [letter] = (await k.kernel.listDeadLetters({ consumer: 'alpha.things' })).items;
    const effects = () => k.context('alpha').db.all(sql`SELECT n FROM alpha_effects`);

    failing.on = false;
    crash.armed = true;
    await expect(k.kernel.replayDeadLetter(letter?.id ?? '')).rejects.toThrow('died after the redelivery');
    await eventually(async () => expect(effects()).toEqual([{ n: 7 }])); // the redelivery was handled
    expect((await k.kernel.listDeadLetters({ consumer: 'alpha.things' })).items).toHaveLength(1); // not deleted

    expect(await k.kernel.replayDeadLetter(letter?.id ?? '')).toBe(true);
    await eventually(async () =>
      expect((await k.kernel.transport.stats()).every((s) => s.lag === 0)).toBe(true),
    );
    expect(effects()).toEqual([{ n: 7 }]); // the second redelivery was a duplicate
    expect((await k.kernel.listDeadLetters({ consumer: 'alpha.things' })).items).toEqual([]);
  });
});
