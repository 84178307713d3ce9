import { ConfigError } from '../../env-readers.js';

/** Partitions per consumer when BUS_PARTITIONS is not set: instances that can work a consumer at once. */
export const DEFAULT_PARTITIONS = 16;
/** Upper bound of BUS_PARTITIONS: each partition is a queue (and, on RabbitMQ, a channel) per consumer. */
export const MAX_PARTITIONS = 256;

/**
 * The partition of a key, shared by every broker transport: FNV-1a (32 bit) of the key's UTF-8
 * bytes, mod `partitions`. Stable across processes, versions and platforms, so every publisher and
 * consumer agrees on where a key's messages go.
 */
export function partitionOf(partitionKey: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(partitionKey, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

/** A transport's partition count option: an integer from 1 to MAX_PARTITIONS (default DEFAULT_PARTITIONS). */
export function partitionCount(option: number | undefined): number {
  const partitions = option ?? DEFAULT_PARTITIONS;
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
    throw new Error(`partitions must be an integer from 1 to ${MAX_PARTITIONS} (got ${partitions})`);
  }
  return partitions;
}

/**
 * The refusal of a process whose BUS_PARTITIONS differs from the count a consumer was created
 * with on the broker: with two counts a key would map to two partitions, and two instances could
 * handle its messages at once, out of order. One line, naming the variable and both counts.
 */
export function partitionCountMismatch(consumer: string, found: number, configured: number): ConfigError {
  return new ConfigError(
    'BUS_PARTITIONS',
    `consumer ${consumer} has ${found} partitions on this broker, BUS_PARTITIONS is ${configured} ` +
      `(set BUS_PARTITIONS=${found}, or drain and re-create the consumer's queues: see README)`,
  );
}
