import type { Logger } from '../../observability/logger.js';
import type { ConsumerEndpoint, DeliveryOutcome } from '../transport.js';

/** A final outcome: the message is handled, a duplicate, or dead-lettered (never 'retry'). */
export type SettledOutcome = Exclude<DeliveryOutcome, { kind: 'retry' }>;

interface Pending {
  readonly raw: string | Buffer;
  readonly firstAttempt: number;
  readonly onSettled: (outcome: SettledOutcome) => void;
}

/**
 * Per-key ordered, bounded-concurrency delivery for broker transports: messages of one partition
 * key run one at a time in arrival order; different keys run in parallel up to the endpoint's
 * concurrency. A failed attempt is retried in process after the consumer's delay while its key
 * stays blocked, so later messages of that key wait and other keys keep flowing. The transport
 * acks in `onSettled`; if the process dies first, the broker redelivers and the inbox absorbs it.
 */
export class KeyedDispatcher {
  readonly #endpoint: ConsumerEndpoint;
  readonly #log: Logger;
  readonly #queues = new Map<string, Pending[]>();
  readonly #ready: string[] = [];
  readonly #running = new Set<Promise<void>>();
  #active = 0;

  constructor(endpoint: ConsumerEndpoint, log: Logger) {
    this.#endpoint = endpoint;
    this.#log = log;
  }

  /** Messages accepted and not yet settled. */
  get size(): number {
    let n = 0;
    for (const queue of this.#queues.values()) n += queue.length;
    return n;
  }

  dispatch(key: string, raw: string | Buffer, firstAttempt: number, onSettled: (outcome: SettledOutcome) => void): void {
    const queue = this.#queues.get(key);
    if (queue) {
      queue.push({ raw, firstAttempt, onSettled });
      return;
    }
    this.#queues.set(key, [{ raw, firstAttempt, onSettled }]);
    this.#ready.push(key);
    this.#next();
  }

  /** Resolves when every accepted message has settled. */
  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running);
  }

  #next(): void {
    while (this.#active < this.#endpoint.concurrency) {
      const key = this.#ready.shift();
      if (key === undefined) return;
      this.#active++;
      const run = this.#runKey(key).finally(() => {
        this.#running.delete(run);
        this.#active--;
        this.#next();
      });
      this.#running.add(run);
    }
  }

  /** Runs the head of `key` to a final outcome, then requeues the key if more messages wait. */
  async #runKey(key: string): Promise<void> {
    const queue = this.#queues.get(key);
    const head = queue?.[0];
    if (!queue || !head) return;
    const outcome = await deliverUntilSettled(this.#endpoint, head.raw, head.firstAttempt);
    try {
      head.onSettled(outcome);
    } catch (error) {
      this.#log.error({ err: error, consumer: this.#endpoint.name }, 'settling a delivery failed');
    }
    queue.shift();
    if (queue.length === 0) this.#queues.delete(key);
    else this.#ready.push(key);
  }
}

/** Delivers until the consumer reaches a final outcome, sleeping the consumer's retry delays. */
export async function deliverUntilSettled(
  endpoint: ConsumerEndpoint,
  raw: string | Buffer,
  firstAttempt = 1,
): Promise<SettledOutcome> {
  for (let attempt = firstAttempt; ; attempt++) {
    const outcome = await endpoint.deliver(raw, attempt);
    if (outcome.kind !== 'retry') return outcome;
    await new Promise((resolve) => setTimeout(resolve, outcome.delayMs));
  }
}
