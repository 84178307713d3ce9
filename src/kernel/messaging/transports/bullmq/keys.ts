/**
 * Names of everything the BullMQ transport keeps in Redis, and the partitioning of messages.
 *
 * BullMQ queues (keys `<prefix>:<queue>:…`):
 *   `<consumer>.p<i>`        partition i of a consumer (per-key order: a key always maps to one partition)
 *   `dlq.<module>.retry`     copies of dead letters, for inspection (nobody works this queue)
 * Transport keys (queue names always contain a dot, so these never collide with a queue):
 *   `<prefix>:routes:<type>`            SET of consumers that receive <type>
 *   `<prefix>:routes-version`           counter, bumped with every change of the routes
 *   `<prefix>:consumers`                HASH consumer → partition count (fixed at first subscribe)
 *   `<prefix>:consumer-types:<consumer>` SET of the types a consumer subscribed to last time
 *   `<prefix>:lease:<consumer>:<i>`     STRING instance id that may work partition i (PX lease)
 *   `<prefix>:members:<consumer>`       ZSET instance id → lease expiry, for a fair share of partitions
 *   `<prefix>:instances`                ZSET instance id → heartbeat expiry (liveness.ts), for fast takeover
 */
export const partitionQueueName = (consumer: string, partition: number): string =>
  `${consumer}.p${partition}`;
export const deadLetterQueueName = (module: string): string => `dlq.${module}.retry`;

export const routesKey = (prefix: string, type: string): string => `${prefix}:routes:${type}`;
export const routesVersionKey = (prefix: string): string => `${prefix}:routes-version`;
export const consumersKey = (prefix: string): string => `${prefix}:consumers`;
export const consumerTypesKey = (prefix: string, consumer: string): string =>
  `${prefix}:consumer-types:${consumer}`;
export const leaseKeyPrefix = (prefix: string, consumer: string): string => `${prefix}:lease:${consumer}:`;
export const membersKey = (prefix: string, consumer: string): string => `${prefix}:members:${consumer}`;
export const instancesKey = (prefix: string): string => `${prefix}:instances`;

/**
 * The lock token of a partition run: `<uuid>@<instance id>`, so that a lock left by a dead
 * instance can be told from one a live instance holds (scripts.ts: `restoreOrphans`).
 */
export const lockTokenFor = (runId: string, instanceId: string): string => `${runId}@${instanceId}`;

/**
 * A BullMQ job id from an envelope id. BullMQ refuses ids with ':' and ids that are integers;
 * outbox ids are UUIDs, but a hand-made message may carry anything.
 */
export function jobIdFor(messageId: string): string {
  const escaped = messageId.replaceAll('%', '%25').replaceAll(':', '%3A');
  return /^\d+$/.test(escaped) || escaped === '' ? `m-${escaped}` : escaped;
}

/** What the transport needs from a raw message it may not be able to parse: id and partition key. */
export function peekRaw(raw: string): { readonly id: string | undefined; readonly partitionKey: string } {
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed && typeof parsed === 'object') {
      const { id, partitionkey } = parsed as { id?: unknown; partitionkey?: unknown };
      const messageId = typeof id === 'string' ? id : undefined;
      const key = typeof partitionkey === 'string' ? partitionkey : messageId;
      return { id: messageId, partitionKey: key ?? raw };
    }
  } catch {
    // not JSON: the consumer dead-letters it with the reason
  }
  return { id: undefined, partitionKey: raw };
}
