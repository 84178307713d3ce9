/**
 * The transport's AMQP connection, kept up across the nodes AMQP_URL lists (node-list.ts: the first
 * that answers, another after a loss, with backoff, one log line per attempt), and running `setup`
 * on every new connection (declare the topology, re-consume every endpoint) before the link counts
 * as up. Channels of an old connection are never reused. Every wait is bounded: nothing here hangs
 * forever. A first connection refused for good (login, vhost, URL: refusals.ts) fails at once, and
 * stays failed; with several nodes, once each of them was tried (see #failed).
 */
import { hostname } from 'node:os';
import type { Channel, ChannelModel, ConfirmChannel } from 'amqplib';
import { ConfigError, redactUrl, redactUrls } from '../../../config.js';
import type { Logger } from '../../../observability/logger.js';
import { withTimeout } from '../../../time.js';
import { type NextAttempt, NodeListConnection } from './node-list.js';
import { FirstConnectionRefusals, type NodeRefusal, permanentCause } from './refusals.js';

export interface LinkOptions {
  /** The nodes of one broker or cluster, in the order the first connection tries them. */
  readonly urls: readonly [string, ...string[]];
  /** Shown by `rabbitmqctl list_connections name` (clientProperties.connection_name). */
  readonly connectionName: string;
  /** How long the first connection may take before start fails naming AMQP_URL. */
  readonly connectTimeoutMs: number;
  readonly reconnectInitialDelayMs: number;
  readonly reconnectMaxDelayMs: number;
  /** Heartbeat asked for when the URL does not set one (seconds). */
  readonly heartbeatSeconds: number;
}

export const defaultConnectionName = (): string => `modulith@${hostname()}:${process.pid}`;

type Setup = (model: ChannelModel) => Promise<void>;
type LazyChannel<C> = { readonly model: ChannelModel; readonly channel: Promise<C> };

export class RabbitLink {
  readonly #options: LinkOptions;
  readonly #log: Logger;
  readonly #setup: Setup;
  #connection: NodeListConnection | undefined;
  #starting: Promise<void> | undefined;
  #model: ChannelModel | undefined;
  readonly #waiters = new Set<{ resolve: (model: ChannelModel) => void; reject: (error: Error) => void }>();
  #publisher: LazyChannel<ConfirmChannel> | undefined;
  #admin: LazyChannel<Channel> | undefined;
  #lastError = 'no attempt yet';
  /** Why the first connection can never succeed; set once, then every start fails with it. */
  #refused: ConfigError | undefined;
  /** What the nodes answered the first connection (refusals.ts: when a refusal stops the start). */
  readonly #refusals: FirstConnectionRefusals;
  /** Errors of our own setup on an open connection: the broker took the login, so never a refusal. */
  readonly #setupFailures = new WeakSet<Error>();
  #connectedOnce = false;
  #closed = false;

  constructor(options: LinkOptions, log: Logger, setup: Setup) {
    this.#options = options;
    this.#log = log;
    this.#setup = setup;
    this.#refusals = new FirstConnectionRefusals(options.urls.length);
  }

  /** Every node's URL, passwords masked, comma separated. */
  get url(): string {
    return redactUrls(this.#options.urls);
  }

  /** The live connection, once its setup has run; undefined while down. */
  get model(): ChannelModel | undefined {
    return this.#model;
  }

  /** Connects (once; again after a failed start), failing after the connect window. */
  start(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('RabbitMQ transport is closed'));
    if (this.#refused) return Promise.reject(this.#refused);
    this.#starting ??= this.#start().catch((error: unknown) => {
      this.#starting = undefined;
      throw error;
    });
    return this.#starting;
  }

  /** `permanent`: the refusal start fails with, so a caller waiting for the broker stops waiting. */
  status(): { ok: boolean; detail?: string; permanent?: ConfigError } {
    if (this.#closed) return { ok: false, detail: 'closed' };
    if (this.#refused) return { ok: false, detail: this.#refused.message, permanent: this.#refused };
    if (this.#model) return { ok: true };
    if (!this.#starting) return { ok: false, detail: 'not connected yet' };
    return { ok: false, detail: `not connected to ${this.url}: ${this.#lastError}` };
  }

  /** The live connection, waiting up to `timeoutMs` for one. */
  whenUp(timeoutMs: number): Promise<ChannelModel> {
    if (this.#model) return Promise.resolve(this.#model);
    if (this.#closed) return Promise.reject(new Error('RabbitMQ transport is closed'));
    if (this.#refused) return Promise.reject(this.#refused);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (model: ChannelModel) => {
          clearTimeout(timer);
          resolve(model);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`RabbitMQ is not connected (${this.#lastError}); gave up after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** The publisher-confirm channel of the live connection (created on first use). */
  confirmChannel(timeoutMs: number): Promise<ConfirmChannel> {
    return this.#lazy(
      timeoutMs,
      'publisher',
      () => this.#publisher,
      (c) => {
        this.#publisher = c;
      },
      (model) => model.createConfirmChannel(),
    );
  }

  /** A plain channel for queue checks (stats); a failed check closes it and the next call opens another. */
  adminChannel(timeoutMs: number): Promise<Channel> {
    return this.#lazy(
      timeoutMs,
      'admin',
      () => this.#admin,
      (c) => {
        this.#admin = c;
      },
      (model) => model.createChannel(),
    );
  }

  /**
   * Opens a channel on `model` with its error and close events heard (an unheard error kills the
   * connection). Errors the caller `expected` (a lock held elsewhere) are logged at debug level.
   */
  async openChannel<C extends Channel>(
    model: ChannelModel,
    open: (m: ChannelModel) => Promise<C>,
    purpose: string,
    expected: (error: unknown) => boolean = () => false,
  ) {
    const channel = await open(model);
    channel.on('error', (error: Error) =>
      expected(error)
        ? this.#log.debug({ err: error, purpose }, 'RabbitMQ channel closed as expected')
        : this.#log.warn({ err: error, purpose }, 'RabbitMQ channel error'),
    );
    channel.on('handler-error', (error: Error, event: string) =>
      this.#log.error({ err: error, event, purpose }, 'RabbitMQ channel listener threw'),
    );
    return channel;
  }

  /** Idempotent: stops reconnecting, fails pending waits, closes the connection (bounded). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#model = undefined;
    for (const waiter of this.#waiters) waiter.reject(new Error('RabbitMQ transport is closed'));
    this.#waiters.clear();
    const connection = this.#connection;
    if (connection) await withTimeout(connection.close(), 5000, 'close timed out').catch(() => {});
  }

  async #start(): Promise<void> {
    const { connectTimeoutMs, reconnectInitialDelayMs, reconnectMaxDelayMs } = this.#options;
    const connection = new NodeListConnection(
      {
        urls: this.#connectionUrls(),
        socketOptions: {
          clientProperties: { connection_name: this.#options.connectionName },
          noDelay: true, // no Nagle: acks and confirms are small frames that must not wait
          timeout: Math.min(10_000, connectTimeoutMs),
        },
        initialDelayMs: reconnectInitialDelayMs,
        maxDelayMs: reconnectMaxDelayMs,
        setup: (model, node) =>
          this.#onConnection(model, node).catch((error: unknown) => {
            if (error instanceof Error) this.#setupFailures.add(error);
            throw error;
          }),
      },
      {
        failed: (error, node, next) => this.#failed(connection, error, node, next),
        lost: (error, node, next) => {
          this.#lastError = error.message;
          this.#log.warn(
            `RabbitMQ connection to ${this.#node(node)} lost (${error.message}); reconnecting${this.#onNode(next)}`,
          );
        },
      },
    );
    this.#connection = connection;
    try {
      await this.whenUp(connectTimeoutMs);
    } catch {
      await connection.close();
      if (this.#closed) throw new Error('RabbitMQ transport is closed');
      this.#connection = undefined;
      if (this.#refused) throw this.#refused;
      const refusal = this.#refusals.first();
      if (refusal) throw this.#refuse(refusal);
      throw new ConfigError(
        'AMQP_URL',
        `no RabbitMQ answered at ${this.url} within ${Math.round(connectTimeoutMs / 1000)} s (${this.#lastError})`,
      );
    }
  }

  /** Each node's URL with a heartbeat, unless it sets one: a dead peer is noticed in seconds, not minutes. */
  #connectionUrls(): [string, ...string[]] {
    const [first, ...rest] = this.#options.urls;
    return [this.#connectionUrl(first, 0), ...rest.map((url, i) => this.#connectionUrl(url, i + 1))];
  }

  /** Throws the refusal at once for a URL that does not parse: no node list mends that entry. */
  #connectionUrl(url: string, node: number): string {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (error) {
      const invalid = error instanceof Error ? error : new TypeError(String(error));
      const cause = permanentCause(invalid, url);
      throw cause ? this.#refuse({ node, cause }) : invalid;
    }
    if (!parsed.searchParams.has('heartbeat')) {
      parsed.searchParams.set('heartbeat', String(this.#options.heartbeatSeconds));
    }
    return parsed.toString();
  }

  /**
   * An attempt on `node` failed. A permanent refusal (login, vhost, URL) counts only before the
   * first connection: a running process that loses its broker keeps retrying, since stopping it
   * would turn a credential rotation or a vhost recreated late into an outage. Across several
   * nodes, a refusal stops the start once every node was tried (FirstConnectionRefusals).
   */
  #failed(connection: NodeListConnection, error: Error, node: number, next: NextAttempt): void {
    this.#lastError = error.message;
    const late = this.#connectedOnce || this.#setupFailures.has(error);
    const cause = late ? undefined : permanentCause(error, this.#options.urls[node] ?? '');
    if (!late) this.#refusals.record(node, cause);
    const refusal = late ? undefined : this.#refusals.verdict();
    if (refusal) {
      this.#refuse(refusal);
      connection.close().catch(() => {});
      return;
    }
    const what = cause ? `refused the connection (${cause})` : `unreachable (${error.message})`;
    this.#log.warn(
      `RabbitMQ at ${this.#node(node)} ${what}; attempt ${next.attempt} in ${Math.round(next.delayMs)} ms${this.#onNode(next)}`,
    );
  }

  /** Records the refusal start fails with, once, and fails the waiters with it. */
  #refuse({ node, cause }: NodeRefusal): ConfigError {
    this.#refused ??= new ConfigError('AMQP_URL', `${cause} at ${this.#node(node)}`);
    for (const waiter of this.#waiters) waiter.reject(this.#refused);
    this.#waiters.clear();
    return this.#refused;
  }

  /** Node `node`'s URL, password masked. */
  #node(node: number): string {
    return redactUrl(this.#options.urls[node] ?? '');
  }

  /** ` on <url>` when there are several nodes to choose from, else nothing. */
  #onNode(next: NextAttempt): string {
    return this.#options.urls.length > 1 ? ` on ${this.#node(next.node)}` : '';
  }

  /** Runs on every new connection, before it counts as up; a throw makes it a failed attempt. */
  async #onConnection(model: ChannelModel, node: number): Promise<void> {
    const url = this.#node(node);
    model.on('error', (error: Error) => {
      this.#lastError = error.message;
      this.#log.warn({ err: error }, `RabbitMQ connection error (${url})`);
    });
    model.on('close', () => {
      if (this.#model === model) this.#model = undefined;
    });
    model.on('handler-error', (error: Error, event: string) =>
      this.#log.error({ err: error, event }, 'RabbitMQ connection listener threw'),
    );
    model.on('blocked', (reason: string) =>
      this.#log.warn(`RabbitMQ blocked publishing (${reason}): publishes wait, then time out`),
    );
    model.on('unblocked', () => this.#log.info('RabbitMQ unblocked publishing'));
    await this.#setup(model);
    if (this.#closed) throw new Error('RabbitMQ transport is closed');
    this.#model = model;
    this.#lastError = 'connection lost';
    this.#log.info(`RabbitMQ ${this.#connectedOnce ? 'reconnected' : 'connected'} (${url})`);
    this.#connectedOnce = true;
    for (const waiter of this.#waiters) waiter.resolve(model);
    this.#waiters.clear();
  }

  async #lazy<C extends Channel>(
    timeoutMs: number,
    purpose: string,
    get: () => LazyChannel<C> | undefined,
    set: (value: LazyChannel<C> | undefined) => void,
    open: (model: ChannelModel) => Promise<C>,
  ): Promise<C> {
    const model = await this.whenUp(timeoutMs);
    const current = get();
    if (current?.model === model) return current.channel;
    const channel = withTimeout(
      this.openChannel(model, open, purpose),
      timeoutMs,
      `opening a ${purpose} channel timed out`,
    );
    const entry = { model, channel };
    set(entry);
    const forget = () => {
      if (get() === entry) set(undefined);
    };
    channel.then((c) => c.on('close', forget), forget);
    return channel;
  }
}
