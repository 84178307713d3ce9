/**
 * A rolling upgrade on each broker (docs/adr/0015): two builds of a consumer module side by side,
 * sharing its partitions and its database, while the publisher is upgraded mid-stream.
 *
 * Build 1 knows version 1 of two fixture messages, build 2 version 2 of both (with upcasters):
 * - `source.price-set` v2 renames `price` (decimal) to `cents`: build 1 cannot read it, so it
 *   holds what reaches its partitions (readiness warns) until it stops and build 2 takes them;
 * - `source.stock-set` v2 adds a required `warehouse`: build 1 reads it as v1 (ignoring it).
 * The publisher stages version 1 of both for every key, is replaced by build 2's, which stages
 * version 2. Then build 1's consumer stops, as the last step of the upgrade. Shown: every message
 * handled exactly once, none dead-lettered, each key's messages in publish order.
 */
import { sql } from 'drizzle-orm';
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { defineEvent, defineModule, on } from '../../src/kernel/index.js';
import { partitionOf } from '../../src/kernel/messaging/transports/partition.js';
import { eventually, type TestKernel } from '../../src/kernel/testing/index.js';
import { BROKERS, partitionsOf, useDeployment } from './instances.js';

const CONSUMER = 'shelf.updates';
const PARTITIONS = 16;
/** Messages per key and type: this many at version 1, then as many at version 2. */
const PER_VERSION = 3;

/** One key per partition, so each instance of the consumer owns some keys of each type. */
const keysCovering = (prefix: string): string[] => {
  const byPartition = new Map<number, string>();
  for (let i = 0; byPartition.size < PARTITIONS; i++) {
    const key = `${prefix}-${i}`;
    if (!byPartition.has(partitionOf(key, PARTITIONS))) byPartition.set(partitionOf(key, PARTITIONS), key);
  }
  return [...byPartition.values()];
};
const PRICE_KEYS = keysCovering('price');
const STOCK_KEYS = keysCovering('stock');

const PriceV1 = Type.Object({ key: Type.String(), n: Type.Integer(), price: Type.Number() });
const StockV1 = Type.Object({ key: Type.String(), n: Type.Integer(), units: Type.Integer() });

const byKey = (d: { key: string }) => d.key;

/** The two message types as build 1 declares them. */
const VERSION_1 = {
  priceSet: defineEvent({ type: 'source.price-set', schema: PriceV1, partitionKey: byKey }),
  stockSet: defineEvent({ type: 'source.stock-set', schema: StockV1, partitionKey: byKey }),
};

/** As build 2 declares them: version 2 of each, with its upcaster from version 1. */
const VERSION_2 = {
  priceSet: defineEvent({
    type: 'source.price-set',
    version: 2,
    schema: Type.Object({ key: Type.String(), n: Type.Integer(), cents: Type.Integer() }),
    previous: {
      1: {
        schema: PriceV1,
        upcast: (data) => {
          const { price, ...rest } = data as { price: number };
          return { ...rest, cents: Math.round(price * 100) };
        },
      },
    },
    partitionKey: byKey,
  }),
  stockSet: defineEvent({
    type: 'source.stock-set',
    version: 2,
    schema: Type.Object({ ...StockV1.properties, warehouse: Type.String() }),
    previous: { 1: { schema: StockV1, upcast: (data) => ({ ...(data as object), warehouse: 'main' }) } },
    partitionKey: byKey,
  }),
};

/** A build: the publisher module `source` and the consumer module `shelf`, which records each message. */
function buildOf<M extends typeof VERSION_1 | typeof VERSION_2>(build: 1 | 2, messages: M) {
  const source = defineModule({ name: 'source', messages: [messages.priceSet, messages.stockSet] });
  const shelf = defineModule({
    name: 'shelf',
    start: (ctx) => {
      ctx.transact((tx) =>
        tx.db.run(sql`CREATE TABLE IF NOT EXISTS shelf_effects (seq INTEGER PRIMARY KEY AUTOINCREMENT,
          type TEXT NOT NULL, key TEXT NOT NULL, n INTEGER NOT NULL, build INTEGER NOT NULL, data TEXT NOT NULL)`),
      );
    },
    subscriptions: [
      {
        consumer: CONSUMER,
        concurrency: 4,
        handlers: [
          on([messages.priceSet, messages.stockSet], async (message, ctx) => {
            const { key, n } = message.data;
            await ctx.transact((tx) =>
              tx.db.run(sql`INSERT INTO shelf_effects (type, key, n, build, data)
                VALUES (${message.type}, ${key}, ${n}, ${build}, ${JSON.stringify(message.data)})`),
            );
          }),
        ],
      },
    ],
  });
  return { ...messages, source, shelf, catalogue: [source, shelf] };
}

interface Effect {
  readonly type: string;
  readonly key: string;
  readonly n: number;
  readonly build: number;
  readonly data: string;
}

const effectsIn = (kernel: TestKernel): Effect[] =>
  kernel
    .context('shelf')
    .db.all<Effect>(sql`SELECT type, key, n, build, data FROM shelf_effects ORDER BY seq`);

const deploy = useDeployment([CONSUMER]);

describe.each(BROKERS)('%s: a rolling upgrade of a consumer module', (broker) => {
  it('two builds side by side, the publisher switching from v1 to v2: each message once, in order per key, none dead-lettered', async (context) => {
    const current = await deploy(broker, context);
    const [one, two] = [buildOf(1, VERSION_1), buildOf(2, VERSION_2)];
    const oldShelf = await current.start([one.shelf], 'shelf-build-1', one.catalogue);
    const newShelf = await current.start([two.shelf], 'shelf-build-2', two.catalogue);
    await eventually(
      async () => {
        const split = await Promise.all([oldShelf, newShelf].map((k) => partitionsOf(k, CONSUMER)));
        expect(split.map((p) => p.length)).toEqual([8, 8]);
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );

    const oldSource = await current.start([one.source], 'source-build-1', one.catalogue);
    for (let n = 0; n < PER_VERSION; n++) {
      await oldSource
        .context('source')
        .transact((tx) =>
          tx.stage(
            ...PRICE_KEYS.map((key) => one.priceSet({ key, n, price: n + 0.25 })),
            ...STOCK_KEYS.map((key) => one.stockSet({ key, n, units: n })),
          ),
        );
    }
    await oldSource.stop(); // the publisher is upgraded: build 2 relays anything left, then stages v2
    const newSource = await current.start([two.source], 'source-build-2', two.catalogue);
    for (let n = PER_VERSION; n < 2 * PER_VERSION; n++) {
      await newSource
        .context('source')
        .transact((tx) =>
          tx.stage(
            ...PRICE_KEYS.map((key) => two.priceSet({ key, n, cents: n * 100 + 25 })),
            ...STOCK_KEYS.map((key) => two.stockSet({ key, n, units: n, warehouse: 'east' })),
          ),
        );
    }

    // build 1 reads the stock-set v2 that reach it, and holds the price-set v2 it cannot read
    await eventually(
      async () => {
        const readByOld = effectsIn(oldShelf).filter((e) => e.build === 1 && e.data.includes('"warehouse"'));
        expect(readByOld.length).toBeGreaterThan(0);
        expect(oldShelf.kernel.heldMessages.byConsumer()).toEqual([
          expect.objectContaining({
            consumer: CONSUMER,
            versions: ['source.price-set v2 (this build reads v1)'],
          }),
        ]);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(await oldShelf.kernel.health()).toMatchObject({ held: { status: 'warn' } });
    expect(effectsIn(oldShelf).some((e) => e.build === 1 && e.data.includes('"cents"'))).toBe(false);

    await oldShelf.stop(); // the upgrade's last step: build 1's held messages go to build 2
    const all = (PRICE_KEYS.length + STOCK_KEYS.length) * 2 * PER_VERSION;
    await eventually(async () => expect(effectsIn(newShelf)).toHaveLength(all), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    await eventually(async () => {
      const lag = (await newShelf.kernel.transport.stats()).reduce((sum, s) => sum + s.lag, 0);
      expect(lag).toBe(0);
    });

    const effects = effectsIn(newShelf);
    const perKey = new Map<string, number[]>();
    for (const { key, n } of effects) perKey.set(key, [...(perKey.get(key) ?? []), n]);
    const inOrder = Array.from({ length: 2 * PER_VERSION }, (_, n) => n);
    for (const key of [...PRICE_KEYS, ...STOCK_KEYS]) expect(perKey.get(key), key).toEqual(inOrder);
    expect(effects).toHaveLength(all); // each exactly once (and nothing more arrived)
    expect((await newShelf.kernel.listDeadLetters()).items).toEqual([]);
    // build 2 saw every price in cents: version 1 upcast, version 2 as published
    const prices = effects.filter((e) => e.type === 'source.price-set' && e.build === 2);
    expect(prices.every((e) => JSON.parse(e.data).cents === e.n * 100 + 25)).toBe(true);
    console.info(
      `${broker}: build 1 handled ${effects.filter((e) => e.build === 1).length}, build 2 ${effects.filter((e) => e.build === 2).length} of ${all}`,
    );
  }, 120_000);
});
