import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { runInContext } from '../messaging/context.js';
import type { Envelope } from '../messaging/envelope.js';
import { on } from '../messaging/subscription.js';
import type { Transport } from '../messaging/transport.js';
import { createMemoryTransport } from '../messaging/transports/memory/memory.js';
import {
  doThing,
  FAST_RETRY,
  fails,
  type Thing,
  thing,
  thingHappened,
  thingSeen,
} from '../messaging/transports/testing/conformance/fixtures.js';
import { defineModule } from '../modules/module.js';
import type { Logger } from '../observability/logger.js';
import { overriding } from '../testing/consumer-hook.js';
import { eventually, startTestKernel, type TestKernel } from '../testing/index.js';
import type { Tx } from './outbox.js';
import type { RelayOptions } from './relay.js';

/** A transport whose publish can be made to fail (`broken`) or to wait (`held`). */
class FlakyPublish {
  broken = false;
  held: Promise<void> | undefined;
  rejected = 0;
  waiting = 0;
  /** The types of each batch handed to the transport, in order. */
  readonly batches: string[][] = [];

  wrap(inner: Transport): Transport {
    return overriding(inner, {
      publish: async (messages) => {
        if (this.broken) {
          this.rejected++;
          throw new Error('broker unreachable');
        }
        if (this.held) {
          this.waiting++;
          await this.held;
        }
        this.batches.push(messages.map((m) => m.type));
        await inner.publish(messages);
      },
    });
  }
}

describe('outbox: an event exists iff its transaction committed', () => {
  let tk: TestKernel | undefined;
  let release = () => {};
  const flaky = new FlakyPublish();
  const seenByAlpha: Envelope[] = [];
  const seenByBeta: Envelope[] = [];
  let alphaFailsFirst = false;

  afterEach(async () => {
    release();
    await tk?.dispose();
    Object.assign(flaky, { broken: false, held: undefined, rejected: 0, waiting: 0 });
    flaky.batches.length = 0;
    seenByAlpha.length = 0;
    seenByBeta.length = 0;
    alphaFailsFirst = false;
  });

  const start = async (relay: Partial<RelayOptions> = {}) => {
    tk = await startTestKernel({
      retry: FAST_RETRY,
      relay,
      transport: (log: Logger) => flaky.wrap(createMemoryTransport(log)),
      modules: [
        defineModule({
          name: 'source',
          messages: [thingHappened, doThing],
          start: (ctx) => {
            ctx.transact((tx) => {
              tx.db.run(sql`CREATE TABLE IF NOT EXISTS source_things (key TEXT, n INTEGER)`);
              tx.db.run(sql`CREATE TABLE IF NOT EXISTS source_staged (id TEXT, type TEXT)`);
            });
          },
          onMessageStaged: (tx, message) => {
            tx.db.run(sql`INSERT INTO source_staged (id, type) VALUES (${message.id}, ${message.type})`);
          },
        }),
        defineModule({
          name: 'alpha',
          messages: [thingSeen],
          subscriptions: [
            {
              consumer: 'alpha.things',

              handlers: [
                on([thingHappened], async (m, ctx) => {
                  seenByAlpha.push(m);
                  if (alphaFailsFirst && ctx.attempt === 1) fails('first attempt fails');
                  await ctx.transact((tx) => tx.stage(thingSeen(m.data as Thing)));
                }),
              ],
            },
          ],
        }),
        defineModule({
          name: 'beta',
          subscriptions: [
            { consumer: 'beta.seen', handlers: [on([thingSeen], (m) => void seenByBeta.push(m))] },
          ],
        }),
      ],
    });
    return tk;
  };
  const insertThing = async (tx: Tx, key: string, n: number) =>
    tx.db.run(sql`INSERT INTO source_things (key, n) VALUES (${key}, ${n})`);
  const sourceThings = (k: TestKernel) => k.context('source').db.all(sql`SELECT key, n FROM source_things`);
  const outbox = async (k: TestKernel, module: string) =>
    (await k.kernel.outboxStats()).find((s) => s.module === module);
  const settled = (k: TestKernel) =>
    eventually(async () => {
      expect((await k.kernel.outboxStats()).every((s) => s.pending === 0)).toBe(true);
      expect((await k.kernel.transport.stats()).every((s) => s.lag === 0)).toBe(true);
    });

  it('publishes nothing for a transaction that throws, and delivers the committed one', async () => {
    const k = await start();
    const source = k.context('source');
    await expect(
      source.transact(async (tx) => {
        await insertThing(tx, 'rolled-back', 1);
        await tx.stage(thing('rolled-back', 1));
        fails('business rule violated');
      }),
    ).rejects.toThrow('business rule violated');
    await source.transact(async (tx) => {
      await insertThing(tx, 'committed', 2);
      await tx.stage(thing('committed', 2));
    });
    await eventually(async () => expect(seenByBeta).toHaveLength(1));
    await settled(k);
    expect(seenByAlpha.map((m) => m.data)).toEqual([{ key: 'committed', n: 2 }]);
    expect(await outbox(k, 'source')).toMatchObject({ pending: 0, published: 1 });
    expect(sourceThings(k)).toEqual([{ key: 'committed', n: 2 }]);
  });

  it("runs the module's onMessageStaged in the staging transaction, with the envelope it publishes", async () => {
    const k = await start();
    const source = k.context('source');
    await expect(
      source.transact(async (tx) => {
        await tx.stage(thing('rolled-back', 1));
        fails('business rule violated');
      }),
    ).rejects.toThrow('business rule violated');
    await source.transact((tx) => tx.stage(thing('committed', 2), doThing({ key: 'committed' })));
    await eventually(async () => expect(seenByAlpha).toHaveLength(1));
    const staged = source.db.all<{ id: string; type: string }>(sql`SELECT id, type FROM source_staged`);
    expect(staged).toEqual([
      { id: seenByAlpha[0]?.id, type: thingHappened.type },
      { id: expect.any(String), type: doThing.type },
    ]);
  });

  it('publishes after a quiet spell at once, and what is staged within the linger in one batch', async () => {
    const k = await start({ lingerMs: 2000, sweepIntervalMs: 60_000 });
    const source = k.context('source');
    const sourceBatches = () => flaky.batches.filter((types) => types.includes(thingHappened.type));
    const stage = (n: number) =>
      source.transact(async (tx) => {
        await insertThing(tx, 'k', n);
        await tx.stage(thing('k', n));
      });
    await stage(1);
    // not after the 2 s linger: the relay was quiet, so the first message goes out at once
    await eventually(async () => expect(sourceBatches()).toHaveLength(1), { timeoutMs: 1000 });
    for (let n = 2; n <= 6; n++) {
      await stage(n);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await eventually(async () => expect(seenByBeta).toHaveLength(6), { timeoutMs: 5000 });
    expect(sourceBatches().map((types) => types.length)).toEqual([1, 5]);
    expect(seenByAlpha.map((m) => (m.data as Thing).n)).toEqual([1, 2, 3, 4, 5, 6]);
    await settled(k);
  });

  it('throws on an invalid draft and rolls the state change back with it', async () => {
    const k = await start();
    const source = k.context('source');
    const invalid = thingHappened({ key: 'k', n: 'one' } as unknown as Thing);
    const unknown = { type: 'source.never-declared', schemaversion: 1, partitionkey: 'k', data: {} };
    for (const draft of [invalid, unknown]) {
      await expect(
        source.transact(async (tx) => {
          await insertThing(tx, 'k', 1);
          await tx.stage(draft);
        }),
      ).rejects.toThrow(/cannot stage source\.(thing-happened|never-declared)/);
    }
    expect(sourceThings(k)).toEqual([]);
    expect(await outbox(k, 'source')).toMatchObject({ pending: 0, published: 0 });
    await source.transact((tx) => tx.stage(thing('k', 2))); // a valid draft still goes through
    await eventually(async () =>
      expect(await outbox(k, 'source')).toMatchObject({ pending: 0, published: 1 }),
    );
  });

  it('refuses to stage outside a transaction', async () => {
    const k = await start();
    let escaped: Tx | undefined;
    await k.context('source').transact((tx) => {
      escaped = tx;
    });
    await expect(escaped?.stage(thing('k', 1))).rejects.toThrow(/inside a transaction/);
    expect(await outbox(k, 'source')).toMatchObject({ pending: 0, published: 0 });
  });

  it("refuses to stage another module's event, but sends its commands", async () => {
    const k = await start();
    const alpha = k.context('alpha');
    await expect(alpha.transact((tx) => tx.stage(thing('k', 1)))).rejects.toThrow(
      /cannot publish source.thing-happened/,
    );
    await alpha.transact((tx) => tx.stage(doThing({ key: 'k' })));
    await eventually(async () =>
      expect(await outbox(k, 'alpha')).toMatchObject({ pending: 0, published: 1 }),
    );
    await settled(k);
    expect(seenByAlpha).toEqual([]);
  });

  it('marks a row published only after the transport accepted it', async () => {
    const k = await start();
    flaky.broken = true;
    await k.context('source').transact((tx) => tx.stage(thing('k', 1)));
    await eventually(async () => expect(flaky.rejected).toBeGreaterThan(0));
    expect(await outbox(k, 'source')).toMatchObject({ pending: 1, published: 0 });
    flaky.broken = false; // the relay retries by itself
    await eventually(async () =>
      expect(await outbox(k, 'source')).toMatchObject({ pending: 0, published: 1 }),
    );
    await eventually(async () => expect(seenByBeta).toHaveLength(1));
    await settled(k); // alpha's own publish done: from here, only source publishes

    flaky.held = new Promise((resolve) => {
      release = resolve;
    });
    await k.context('source').transact((tx) => tx.stage(thing('k', 2)));
    await eventually(async () => expect(flaky.waiting).toBe(1));
    expect(await outbox(k, 'source')).toMatchObject({ pending: 1, published: 1 });
    release();
    await eventually(async () =>
      expect(await outbox(k, 'source')).toMatchObject({ pending: 0, published: 2 }),
    );
    await eventually(async () => expect(seenByBeta.map((m) => (m.data as Thing).n)).toEqual([1, 2]));
  });

  it('keeps the id across redeliveries and carries correlation and causation to what a handler stages', async () => {
    alphaFailsFirst = true;
    const k = await start();
    await runInContext({ correlationId: 'corr-42', causationId: null }, () =>
      k.context('source').transact((tx) => tx.stage(thing('k', 7))),
    );
    await eventually(async () => expect(seenByBeta).toHaveLength(1));
    const [row] = k.context('source').db.all<{ id: string }>(sql`SELECT id FROM kernel_outbox`);
    const [first, second] = seenByAlpha;
    expect(seenByAlpha).toHaveLength(2); // attempt 1 failed, attempt 2 handled
    expect(first?.id).toBe(row?.id);
    expect(second?.id).toBe(row?.id);
    expect(first).toMatchObject({
      specversion: '1.0',
      source: 'source',
      type: 'source.thing-happened',
      datacontenttype: 'application/json',
      schemaversion: 1,
      partitionkey: 'k',
      correlationid: 'corr-42',
      causationid: null,
      data: { key: 'k', n: 7 },
    });
    expect(new Date(first?.time ?? '').toISOString()).toBe(first?.time);
    expect(seenByBeta[0]).toMatchObject({
      source: 'alpha',
      type: 'alpha.thing-seen',
      correlationid: 'corr-42',
      causationid: row?.id,
      partitionkey: 'k',
    });
    expect(seenByBeta[0]?.id).not.toBe(row?.id);
  });
});
