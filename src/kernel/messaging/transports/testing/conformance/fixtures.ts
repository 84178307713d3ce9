/**
 * Messages and small helpers of the transport conformance suite (and of kernel specs that need
 * the same shape): a producer module `source`, consumer modules `alpha` and `beta`.
 */
import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import type { Kernel } from '../../../../modules/kernel.js';
import type { Envelope } from '../../../envelope.js';
import { defineCommand, defineEvent } from '../../../message-types.js';
import type { RetryPolicy } from '../../../retry.js';
import type { HandlerContext } from '../../../subscription.js';
import type { ConsumerEndpoint } from '../../../transport.js';

export interface ConformanceFeatures {
  /** Restarts the broker under a running kernel (brokers only). */
  readonly restartBroker?: () => Promise<void>;
  /** Puts a hand-made raw message on a consumer's queue, bypassing the outbox. */
  readonly injectRaw?: (endpoint: ConsumerEndpoint, raw: string, kernel: Kernel) => Promise<void>;
  /** Why the suite cannot run here (e.g. no broker); fails instead when REQUIRE_BROKERS=1. */
  readonly skip?: string;
  /**
   * The modules keep their databases in PostgreSQL (DATABASE_URL): a throwaway database per test
   * (testing/postgres.ts), dropped after it. Unset: SQLite files in the kernel's data directory.
   */
  readonly onPostgres?: boolean;
}

export const thingHappened = defineEvent({
  type: 'source.thing-happened',
  schema: Type.Object({ key: Type.String(), n: Type.Integer() }),
  partitionKey: (d) => d.key,
});

/** Published by alpha for each source.thing-happened it handles (a second hop), consumed by beta. */
export const thingSeen = defineEvent({
  type: 'alpha.thing-seen',
  schema: Type.Object({ key: Type.String(), n: Type.Integer() }),
  partitionKey: (d) => d.key,
});

export const nobodyListens = defineEvent({
  type: 'source.nobody-listens',
  schema: Type.Object({ n: Type.Integer() }),
  partitionKey: () => 'all',
});

/** Version 1 carried `price` (a decimal); version 2 carries `cents`. */
export const itemPriced = defineEvent({
  type: 'source.item-priced',
  version: 2,
  schema: Type.Object({ key: Type.String(), cents: Type.Integer() }),
  previous: {
    1: {
      schema: Type.Object({ key: Type.String(), price: Type.Number() }),
      upcast: (data) => {
        const v1 = data as { key: string; price: number };
        return { key: v1.key, cents: Math.round(v1.price * 100) };
      },
    },
  },
  partitionKey: (d) => d.key,
});

/** A command owned by `source`: any module may send it. */
export const doThing = defineCommand({
  type: 'source.do-thing',
  schema: Type.Object({ key: Type.String() }),
  partitionKey: (d) => d.key,
});

export type Thing = { key: string; n: number };
export const thing = (key: string, n: number) => thingHappened({ key, n });

export type ConsumerModule = 'alpha' | 'beta';
export const CONSUMER_MODULES: readonly ConsumerModule[] = ['alpha', 'beta'];

/** What a consumer does before it records its effect: wait, throw, count attempts (default: nothing). */
export type Behaviour = (message: Envelope, ctx: HandlerContext) => void | Promise<void>;

/** One handled message, as the consumer module's own table records it. */
export interface Effect {
  seq: number;
  message_id: string;
  type: string;
  key: string;
  n: number | null;
  attempt: number;
  schemaversion: number;
  data: string;
}

export interface Gate {
  readonly promise: Promise<void>;
  open(): void;
}

export interface StartOptions {
  /** The consumer modules the kernel runs (default: all). */
  readonly consumers?: readonly ConsumerModule[];
  /**
   * The consumer modules of the kernel's catalogue, running or not (default: the running ones):
   * the kernel provisions the topology of those it does not run.
   */
  readonly catalogue?: readonly ConsumerModule[];
  readonly retry?: Partial<RetryPolicy>;
}

/** Retries fast where timing is not the point (3 attempts, 5 ms then 10 ms). */
export const FAST_RETRY: Partial<RetryPolicy> = { initialDelayMs: 5, holdDelayMs: 20 };

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A hand-made envelope in JSON, as a producer of another build might have sent it. */
export function rawEnvelope(type: string, data: unknown, schemaversion = 1, partitionkey = 'raw'): string {
  return JSON.stringify({
    specversion: '1.0',
    id: randomUUID(),
    source: type.slice(0, type.indexOf('.')),
    type,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    schemaversion,
    correlationid: randomUUID(),
    causationid: null,
    partitionkey,
    data,
  });
}

/** Every `n` from `from` to `to` over the given keys, round robin. */
export function things(from: number, to: number, keys: readonly string[] = ['a', 'b', 'c']) {
  return Array.from({ length: to - from + 1 }, (_, i) => thing(keys[i % keys.length] ?? 'a', from + i));
}

export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

export const sorted = (ns: readonly number[]) => [...ns].sort((a, b) => a - b);

/** Throws: for handlers written as one-line arrows. */
export function fails(text: string): never {
  throw new Error(text);
}
