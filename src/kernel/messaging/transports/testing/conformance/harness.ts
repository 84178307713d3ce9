/**
 * The harness of the transport conformance suite: starts, restarts and disposes a test kernel
 * whose consumer modules record each effect in their own table (`<module>_effects`), in the
 * handler's transaction, after a behaviour the test controls.
 */
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, expect } from 'vitest';
import { defineModule, type ModuleDefinition } from '../../../../modules/module.js';
import { isPostgresHandle } from '../../../../persistence/postgres.js';
import { runSql, selectSql } from '../../../../persistence/prepared.js';
import { onEveryConsumer } from '../../../../testing/consumer-hook.js';
import { eventually, startTestKernel, type TestKernel } from '../../../../testing/index.js';
import { createTestDatabase, type TestDatabase } from '../../../../testing/postgres.js';
import type { TransportFactory } from '../../../../testing/test-kernel.js';
import type { DeadLetter } from '../../../dead-letters.js';
import type { MessageDraft } from '../../../envelope.js';
import { on } from '../../../subscription.js';
import type { ConsumerEndpoint, Transport } from '../../../transport.js';
import {
  type Behaviour,
  CONSUMER_MODULES,
  type ConformanceFeatures,
  type ConsumerModule,
  doThing,
  type Effect,
  FAST_RETRY,
  type Gate,
  itemPriced,
  nobodyListens,
  type StartOptions,
  sorted,
  thingHappened,
} from './fixtures.js';

export class Harness {
  readonly behaviour: Record<ConsumerModule, Behaviour> = { alpha: () => {}, beta: () => {} };
  readonly concurrency: Record<ConsumerModule, number> = { alpha: 1, beta: 1 };
  /** Whether the handler records its effect through `ctx.transact` (default true). */
  readonly records: Record<ConsumerModule, boolean> = { alpha: true, beta: true };
  /** The types routed to a consumer at start, when narrower than all it handles. */
  readonly typesAtStart: Partial<Record<ConsumerModule, string[]>> = {};
  /** What each `ctx.transact` call returned, in order. */
  readonly transacted: Record<ConsumerModule, boolean[]> = { alpha: [], beta: [] };
  readonly features: ConformanceFeatures;
  readonly #createTransport: TransportFactory;
  readonly #endpoints = new Map<string, ConsumerEndpoint>();
  readonly #gates: Gate[] = [];
  #tk: TestKernel | undefined;
  #postgres: TestDatabase | undefined;

  constructor(createTransport: TransportFactory, features: ConformanceFeatures = {}) {
    this.#createTransport = createTransport;
    this.features = features;
  }

  get tk(): TestKernel {
    if (!this.#tk) throw new Error('harness not started');
    return this.#tk;
  }

  async start({
    consumers = CONSUMER_MODULES,
    catalogue = consumers,
    retry = FAST_RETRY,
  }: StartOptions = {}) {
    if (this.features.onPostgres) this.#postgres ??= await createTestDatabase('conformance');
    this.#tk = await startTestKernel({
      ...this.#modules(consumers, catalogue),
      ...(this.#postgres ? { env: { DATABASE_URL: this.#postgres.url } } : {}),
      transport: (log, openDatabase) => this.#capture(this.#createTransport(log, openDatabase)),
      retry,
    });
  }

  /**
   * A clean stop, then a new kernel (and transport) over the same databases; running the given
   * consumer modules (of a catalogue of all of them) when `consumers` is given.
   */
  async restart(consumers?: readonly ConsumerModule[]): Promise<void> {
    this.#tk = await this.tk.restart(consumers ? this.#modules(consumers, CONSUMER_MODULES) : {});
  }

  #modules(consumers: readonly ConsumerModule[], catalogue: readonly ConsumerModule[]) {
    const source = this.#source;
    const module = (name: ConsumerModule) => this.#consumerModule(name);
    return {
      modules: [source, ...consumers.map(module)],
      catalogue: [source, ...[...new Set([...consumers, ...catalogue])].map(module)],
    };
  }

  readonly #source = defineModule({
    name: 'source',
    messages: [thingHappened, nobodyListens, itemPriced, doThing],
  });

  /** Opens every gate (so no handler is left waiting), stops the kernel, deletes its data. */
  async dispose(): Promise<void> {
    for (const gate of this.#gates) gate.open();
    await this.#tk?.dispose();
    await this.#postgres?.drop();
  }

  /** A promise a handler can wait on until the test opens it (opened at dispose at the latest). */
  gate(): Gate {
    let open = () => {};
    const promise = new Promise<void>((resolve) => {
      open = resolve;
    });
    const gate = { promise, open };
    this.#gates.push(gate);
    return gate;
  }

  /** Stages the drafts in one transaction of the producer module. */
  async stage(...drafts: MessageDraft[]): Promise<void> {
    await this.tk.context('source').transact((tx) => tx.stage(...drafts));
  }

  effects(module: ConsumerModule): Promise<Effect[]> {
    return selectSql<Effect>(
      this.tk.context(module).db,
      sql`SELECT * FROM ${sql.identifier(`${module}_effects`)} ORDER BY seq`,
    );
  }

  /** The `n` of every handled thing, in handling order. */
  async handled(module: ConsumerModule): Promise<number[]> {
    return (await this.effects(module)).map((effect) => effect.n ?? -1);
  }

  async deadLetters(module: ConsumerModule): Promise<DeadLetter[]> {
    return (await this.tk.kernel.listDeadLetters({ consumer: `${module}.things` })).items;
  }

  /** The endpoint the transport was given for a consumer module (by the latest kernel). */
  endpoint(module: ConsumerModule): ConsumerEndpoint {
    const endpoint = this.#endpoints.get(`${module}.things`);
    if (!endpoint) throw new Error(`${module}.things is not subscribed`);
    return endpoint;
  }

  /** Every consumer handled exactly `expected` (the `n`s), once each, and nothing is left to deliver. */
  async expectExactlyOnce(expected: number[], modules: readonly ConsumerModule[] = CONSUMER_MODULES) {
    for (const module of modules) {
      await eventually(async () => expect(sorted(await this.handled(module))).toEqual(expected), {
        timeoutMs: 15_000,
      });
    }
    await this.settled();
    for (const module of modules) expect(sorted(await this.handled(module))).toEqual(expected);
  }

  /** Puts a raw message on a consumer's queue through the transport's `injectRaw` feature. */
  async inject(module: ConsumerModule, raw: string): Promise<void> {
    const { injectRaw } = this.features;
    if (!injectRaw) throw new Error('this transport has no injectRaw feature');
    await injectRaw(this.endpoint(module), raw, this.tk.kernel);
  }

  /** Waits until no outbox row is pending and no consumer has a message waiting or in flight. */
  async settled(timeoutMs = 10_000): Promise<void> {
    await eventually(
      async () => {
        const pending = (await this.tk.kernel.outboxStats()).reduce((sum, s) => sum + s.pending, 0);
        const lag = (await this.tk.kernel.transport.stats()).reduce((sum, s) => sum + s.lag, 0);
        expect({ pending, lag }).toEqual({ pending: 0, lag: 0 });
      },
      { timeoutMs },
    );
  }

  #consumerModule(module: ConsumerModule): ModuleDefinition {
    const table = sql.identifier(`${module}_effects`);
    return defineModule({
      name: module,
      start: async (ctx) => {
        // the one dialect difference of the fixtures: a key that counts up
        const seq = isPostgresHandle(ctx.db)
          ? sql`seq BIGSERIAL PRIMARY KEY`
          : sql`seq INTEGER PRIMARY KEY AUTOINCREMENT`;
        await ctx.transact((tx) =>
          runSql(
            tx.db,
            sql`CREATE TABLE IF NOT EXISTS ${table} (
            ${seq}, message_id TEXT NOT NULL, type TEXT NOT NULL,
            key TEXT NOT NULL, n INTEGER, attempt INTEGER NOT NULL, schemaversion INTEGER NOT NULL,
            data TEXT NOT NULL)`,
          ),
        );
      },
      subscriptions: [
        {
          consumer: `${module}.things`,

          concurrency: this.concurrency[module],
          ...(this.typesAtStart[module] ? { typesAtStart: () => this.typesAtStart[module] ?? [] } : {}),
          handlers: [
            on([thingHappened, itemPriced], async (message, ctx) => {
              await this.behaviour[module](message, ctx);
              if (!this.records[module]) return;
              const data = message.data as { key: string; n?: number };
              const committed = await ctx.transact((tx) =>
                runSql(
                  tx.db,
                  sql`INSERT INTO ${table} (message_id, type, key, n, attempt, schemaversion, data)
                VALUES (${message.id}, ${message.type}, ${data.key}, ${data.n ?? null}, ${ctx.attempt},
                        ${message.schemaversion}, ${JSON.stringify(message.data)})`,
                ),
              );
              this.transacted[module].push(committed);
            }),
          ],
        },
      ],
    });
  }

  /** Delegates to the transport, remembering each endpoint it is given. */
  #capture(transport: Transport): Transport {
    return onEveryConsumer(
      transport,
      (_, endpoint) => endpoint && this.#endpoints.set(endpoint.name, endpoint),
    );
  }
}

/**
 * A harness per test of the enclosing `describe`, disposed after it. Returns a view that always
 * points at the current test's harness.
 */
export function useHarness(createTransport: TransportFactory, features: ConformanceFeatures): Harness {
  let current: Harness | undefined;
  beforeEach(() => {
    current = new Harness(createTransport, features);
  });
  afterEach(async () => {
    await current?.dispose();
    current = undefined;
  });
  return new Proxy({} as Harness, {
    get: (_target, property) => {
      if (!current) throw new Error('the harness exists only inside a test');
      const value = Reflect.get(current, property, current);
      return typeof value === 'function' ? value.bind(current) : value;
    },
  });
}
