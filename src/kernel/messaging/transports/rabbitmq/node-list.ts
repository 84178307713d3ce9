/**
 * A connection kept up across the nodes of a RabbitMQ cluster (AMQP_URL lists them, comma
 * separated). amqplib connects to one URL, and its built-in recovery (`connect` with `recovery`)
 * reconnects to that same URL only; amqplib takes no node list, and its maintainers' advice for a
 * cluster is to keep the list and connect to the next node when the connection drops
 * (amqp-node/amqplib#128). This loop does that: amqplib's plain `connect` per attempt, cockatiel's
 * exponential backoff between rounds.
 *
 * Guarantees:
 * - the first connection tries the nodes in list order: the first that answers, and whose `setup`
 *   succeeds, is used;
 * - after the connection to node i is lost: a pause of `initialDelayMs` (a node that is stopping
 *   closes every connection at once), then attempts from node i+1 round the list, so the lost node
 *   is tried last;
 * - within a round, no pause between nodes; after a round in which no node took the connection,
 *   the pause grows (exponential with jitter, from `initialDelayMs` up to `maxDelayMs`), and is
 *   reset by the next connection;
 * - `setup` runs on every new connection before it counts as up; one that throws closes that
 *   connection and counts as a failed attempt on its node;
 * - after `close()`, no attempt starts, a connection still opening is closed as it opens, and the
 *   live one is closed. A single-node list behaves as amqplib's own recovery on one URL.
 */
import { type ChannelModel, connect } from 'amqplib';
import { ExponentialBackoff, type IBackoff } from 'cockatiel';

/** amqplib's socket options (the second argument of `connect`). */
type SocketOptions = NonNullable<Parameters<typeof connect>[1]>;

export interface NodeListOptions {
  /** The URLs amqplib connects to, in the order the first connection tries them. */
  readonly urls: readonly [string, ...string[]];
  readonly socketOptions: SocketOptions;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Runs on each new connection, before it counts as up. */
  readonly setup: (model: ChannelModel, node: number) => Promise<void>;
}

/** The next attempt after a failure or a loss: on which node (index in `urls`), after what pause. */
export interface NextAttempt {
  readonly node: number;
  readonly delayMs: number;
  /** Which retry this is since the last connection was lost (or since the first attempt): 1, 2, … */
  readonly attempt: number;
}

/** What the connection reports; listeners must not throw (they run inside the loop). */
export interface NodeListEvents {
  /** An attempt on `node` failed (connect or setup); `close()` here means there is no next one. */
  failed(error: Error, node: number, next: NextAttempt): void;
  /** The live connection to `node` closed. */
  lost(error: Error, node: number, next: NextAttempt): void;
}

type Attempt = { readonly model: ChannelModel; readonly closed: Promise<Error> } | { readonly error: Error };

export class NodeListConnection {
  readonly #options: NodeListOptions;
  readonly #events: NodeListEvents;
  #stopped = false;
  #model: ChannelModel | undefined;
  /** Ends the current pause early (close). */
  #wake: (() => void) | undefined;

  constructor(options: NodeListOptions, events: NodeListEvents) {
    this.#options = options;
    this.#events = events;
    // deferred, so the caller holds the object before any event
    setImmediate(() => void this.#run());
  }

  /** Idempotent; does not wait for an attempt in flight (it closes what it opens). */
  async close(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    const model = this.#model;
    this.#model = undefined;
    if (model) await model.close().catch(() => {});
  }

  async #run(): Promise<void> {
    const { urls, initialDelayMs, maxDelayMs } = this.#options;
    const rounds = new ExponentialBackoff({ initialDelay: initialDelayMs, maxDelay: maxDelayMs });
    let backoff: IBackoff<unknown> | undefined;
    let node = 0;
    let untried = urls.length; // nodes of this round not tried yet
    let attempt = 0;
    while (!this.#stopped) {
      const outcome = await this.#attempt(node);
      if (this.#stopped) return;
      const tried = node;
      node = (node + 1) % urls.length;
      if ('model' in outcome) {
        const error = await outcome.closed;
        if (this.#model === outcome.model) this.#model = undefined;
        if (this.#stopped) return;
        [backoff, untried, attempt] = [undefined, urls.length, 1];
        this.#events.lost(error, tried, { node, delayMs: initialDelayMs, attempt });
        await this.#pause(initialDelayMs);
        continue;
      }
      attempt++;
      untried--;
      let delayMs = 0;
      if (untried === 0) {
        backoff = (backoff ?? rounds).next(undefined);
        delayMs = backoff.duration;
        untried = urls.length;
      }
      this.#events.failed(outcome.error, tried, { node, delayMs, attempt });
      if (this.#stopped) return;
      await this.#pause(delayMs);
    }
  }

  async #attempt(node: number): Promise<Attempt> {
    let model: ChannelModel | undefined;
    try {
      model = await connect(this.#options.urls[node] ?? '', this.#options.socketOptions);
      // an unheard 'error' would throw; the same error comes with 'close', which is heard here
      model.on('error', () => {});
      const current = model;
      const closed = new Promise<Error>((resolve) =>
        current.once('close', (error?: Error) => resolve(error ?? new Error('connection closed'))),
      );
      if (this.#stopped) throw new Error('RabbitMQ transport is closed');
      await this.#options.setup(model, node);
      if (this.#stopped) throw new Error('RabbitMQ transport is closed');
      this.#model = model;
      return { model, closed };
    } catch (error) {
      if (model) await model.close().catch(() => {});
      return { error: error instanceof Error ? error : new Error(String(error)) };
    }
  }

  #pause(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}
