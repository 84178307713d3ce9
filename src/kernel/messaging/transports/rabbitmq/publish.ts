/**
 * Publishing on a confirm channel: envelopes to the topic exchange (a whole batch written, then
 * one bounded wait for all its confirms), and single raw messages straight to a queue (replay to a
 * partition queue, dead-letter copies to `dlq.<module>.retry`).
 */
import type { ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { withTimeout } from '../../../time.js';
import type { Envelope } from '../../envelope.js';
import { partitionOf } from '../partition.js';
import { exchangeName, routingKey, type Topology } from './topology.js';

export const PARTITION_KEY_HEADER = 'x-partition-key';

/** The partition key of a message: our header, else the envelope's field, else its id. */
export function partitionKeyOf(
  content: Buffer,
  headers: Record<string, unknown> = {},
  messageId?: unknown,
): string {
  const header = headers[PARTITION_KEY_HEADER];
  if (typeof header === 'string') return header;
  try {
    const parsed = JSON.parse(content.toString('utf8')) as { partitionkey?: unknown; id?: unknown } | null;
    if (typeof parsed?.partitionkey === 'string') return parsed.partitionkey;
    if (typeof parsed?.id === 'string') return parsed.id;
  } catch {
    // not JSON: the consumer dead-letters it; any key will do
  }
  return typeof messageId === 'string' ? messageId : '(no key)';
}

/** Header values are capped: amqplib refuses a header table over 64 KiB. */
const MAX_HEADER_TEXT = 4000;

/**
 * Publishes every envelope (persistent), then waits once, at most `timeoutMs`, for all confirms.
 * The ones `mandatory(type)` names go mandatory; resolves with those that no queue took (the
 * broker returns such a message before it confirms it, so all are known once all are confirmed).
 */
export async function publishEnvelopes(
  channel: ConfirmChannel,
  topology: Topology,
  envelopes: readonly Envelope[],
  timeoutMs: number,
  mandatory: (type: string) => boolean,
): Promise<Envelope[]> {
  const exchange = exchangeName(topology);
  const confirms: Promise<void>[] = [];
  const ids = new Set(envelopes.map((envelope) => envelope.id));
  const returned = new Set<string>();
  const onReturn = (message: ConsumeMessage) => {
    const id: unknown = message.properties.messageId;
    if (typeof id === 'string' && ids.has(id)) returned.add(id);
  };
  channel.on('return', onReturn);
  try {
    for (const envelope of envelopes) {
      const key = routingKey(envelope.type, partitionOf(envelope.partitionkey, topology.partitions));
      const content = Buffer.from(JSON.stringify(envelope));
      const properties = { ...envelopeProperties(envelope), mandatory: mandatory(envelope.type) };
      let flowing = true;
      confirms.push(
        confirmed((done) => {
          flowing = channel.publish(exchange, key, content, properties, done);
        }),
      );
      if (!flowing) await drained(channel, timeoutMs); // the socket buffer is full: let it drain
    }
    await withTimeout(
      Promise.all(confirms),
      timeoutMs,
      `RabbitMQ did not confirm ${envelopes.length} message(s) within ${timeoutMs} ms`,
    );
  } finally {
    channel.off('return', onReturn);
  }
  return envelopes.filter((envelope) => returned.has(envelope.id));
}

/** Sends one message to a queue through the default exchange and waits for its confirm. */
export function sendToQueue(
  channel: ConfirmChannel,
  queue: string,
  content: Buffer,
  properties: Options.Publish,
  timeoutMs: number,
): Promise<void> {
  return withTimeout(
    confirmed((done) => channel.sendToQueue(queue, content, properties, done)),
    timeoutMs,
    `RabbitMQ did not confirm a message to ${queue} within ${timeoutMs} ms`,
  );
}

/** A dead letter's copy: the original properties, plus why, after how many attempts, and where. */
export function deadLetterProperties(
  consumer: string,
  message: ConsumeMessage,
  error: string,
  attempts: number,
): Options.Publish {
  const { messageId, type, contentType, headers } = message.properties;
  return {
    persistent: true,
    headers: {
      ...headers,
      'x-error': error.slice(0, MAX_HEADER_TEXT),
      'x-attempts': attempts,
      'x-consumer': consumer,
      'x-failed-at': new Date().toISOString(),
    },
    ...(typeof messageId === 'string' ? { messageId } : {}),
    ...(typeof type === 'string' ? { type } : {}),
    ...(typeof contentType === 'string' ? { contentType } : {}),
  };
}

/** A replayed message's properties (its id when it has one). */
export function replayProperties(raw: string, key: string): Options.Publish {
  const messageId = idOf(raw);
  return {
    persistent: true,
    contentType: 'application/json',
    headers: { [PARTITION_KEY_HEADER]: key, 'x-replayed': true },
    ...(messageId ? { messageId } : {}),
  };
}

function envelopeProperties(envelope: Envelope): Options.Publish {
  const time = Date.parse(envelope.time);
  return {
    persistent: true,
    contentType: 'application/json',
    messageId: envelope.id,
    type: envelope.type,
    appId: envelope.source,
    headers: { [PARTITION_KEY_HEADER]: envelope.partitionkey },
    ...(Number.isFinite(time) ? { timestamp: Math.floor(time / 1000) } : {}),
  };
}

/** Publishes with a confirm callback; resolves on the broker's ack, rejects on nack or channel loss. */
function confirmed(publish: (done: (error: unknown) => void) => void): Promise<void> {
  const promise = new Promise<void>((resolve, reject) => {
    try {
      publish((error) =>
        error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(),
      );
    } catch (error) {
      reject(error); // the channel closed under us (IllegalOperationError)
    }
  });
  promise.catch(() => {}); // a caller that gave up (timeout) must not leave an unhandled rejection
  return promise;
}

function drained(channel: ConfirmChannel, timeoutMs: number): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve) => channel.once('drain', () => resolve())),
    timeoutMs,
    'RabbitMQ channel did not drain',
  );
}

function idOf(raw: string): string | undefined {
  try {
    const id = (JSON.parse(raw) as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
