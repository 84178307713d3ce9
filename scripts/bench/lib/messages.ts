/**
 * The message every message-path row moves: a CloudEvents envelope like the kernel's, with the
 * sequence number in `data.n`, so the consumer side can tell which one arrived.
 */
import { randomUUID } from 'node:crypto';
import type { Envelope } from '../../../src/kernel/index.js';
import type { ConsumerEndpoint, DeliveryOutcome } from '../../../src/kernel/messaging/transport.js';
import type { ModuleDatabase } from '../../../src/kernel/persistence/db.js';

export const BENCH_TYPE = 'benchsrc.item-added';
/** Distinct partition keys the rows cycle through (per-key order serializes a key). */
export const KEYS = 256;

export const keyOf = (n: number): string => `k${n % KEYS}`;

export function benchEnvelope(n: number): Envelope<{ n: number; key: string }> {
  const key = keyOf(n);
  return {
    specversion: '1.0',
    id: randomUUID(),
    source: 'benchsrc',
    type: BENCH_TYPE,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    schemaversion: 1,
    correlationid: randomUUID(),
    causationid: null,
    partitionkey: key,
    data: { n, key },
  };
}

/** The number a raw message carries (its JSON parsed, as a handler would). */
export const numberOf = (raw: string | Buffer): number =>
  (JSON.parse(raw.toString()) as Envelope<{ n: number }>).data.n;

/**
 * A consumer endpoint without a database (broker transports do not use it): parses the message
 * and reports it handled. It measures the transport, not SQLite.
 */
export function countingEndpoint(concurrency: number, onHandled: (n: number) => void): ConsumerEndpoint {
  return {
    name: 'benchsink.items',
    module: 'benchsink',
    types: [BENCH_TYPE],
    handles: [BENCH_TYPE],
    concurrency,
    database: undefined as unknown as ModuleDatabase,
    deliver: async (raw): Promise<DeliveryOutcome> => {
      onHandled(numberOf(raw));
      return { kind: 'handled' };
    },
  };
}
