/**
 * The kernel's connection to its bus: waiting for the broker, subscribing every consumer, then
 * starting what publishes (relays) and what times out (saga coordinators). A broker that does not
 * answer at start is waited for while the process serves: reads answer, commands wait in the
 * outbox, readiness fails naming the broker.
 */
import { type Config, ConfigError } from '../config.js';
import type { Consumer } from '../messaging/consumer.js';
import type { ConsumerTopology, Transport } from '../messaging/transport.js';
import type { Logger } from '../observability/logger.js';
import { within } from '../time.js';
import { type Broker, brokerOf, healthOf, pause, waitForBroker } from './broker-wait.js';

/** How long `Kernel.start` waits for the broker before it serves without the bus. */
export const DEFAULT_BROKER_WAIT_MS = 5000;
/**
 * Subscribe failures while the broker answers, in a row, before they count as fatal: one can be a
 * connection lost half-way through; three are a broker that refuses (a queue declared otherwise).
 */
const SUBSCRIBE_ATTEMPTS = 3;
const SUBSCRIBE_RETRY_MS = 1000;

/**
 * `waiting`: for the broker (nothing subscribed yet, or the broker went away while subscribing);
 * `subscribing`: the broker answers, consumers are being subscribed; `up`: every consumer is
 * subscribed and the relays run; `failed`: for good (see `onFatal`); `stopped`: the kernel stops.
 */
export type BusState = 'idle' | 'waiting' | 'subscribing' | 'up' | 'failed' | 'stopped';

export interface BusConnectionOptions {
  readonly transport: Transport;
  readonly config: Config;
  readonly log: Logger;
  /** How long `connect` waits for the broker before it resolves without the bus. */
  readonly startWaitMs: number;
}

export class BusConnection {
  readonly #transport: Transport;
  readonly #config: Config;
  readonly #log: Logger;
  readonly #startWaitMs: number;
  readonly #broker: Broker | undefined;
  readonly #abort = new AbortController();
  readonly #fatalListeners = new Set<(error: Error) => void>();
  #state: BusState = 'idle';
  #consumers: readonly Consumer[] = [];
  #provisioned: readonly ConsumerTopology[] = [];
  /** How many of `#consumers` are subscribed (they are subscribed in order). */
  #subscribed = 0;
  #failure: Error | undefined;
  #background: Promise<void> = Promise.resolve();

  constructor(options: BusConnectionOptions) {
    this.#transport = options.transport;
    this.#config = options.config;
    this.#log = options.log;
    this.#startWaitMs = options.startWaitMs;
    this.#broker = brokerOf(options.transport, options.config);
  }

  get state(): BusState {
    return this.#state;
  }

  /**
   * Subscribes `consumers` (each narrowed to its `typesAtStart` just before), in order, provisions
   * the topology of `provisioned` (the catalogue's consumers this process does not run), then runs
   * `onUp` (which starts the relays and coordinators: nothing is published before the queues of
   * all its consumers exist, here or elsewhere, and no saga step times out while nothing can be
   * delivered). Guarantees:
   * - the broker answers within `startWaitMs` (the common path): resolves with everything
   *   subscribed and `onUp` run, or rejects with the first subscribe error;
   * - a permanent refusal (login, vhost, URL) before then: rejects with it at once;
   * - no answer within `startWaitMs`: logs one warning and resolves with nothing subscribed and
   *   `onUp` not run; then, in the background, waits with no deadline, subscribes, runs `onUp`.
   *   A fatal error there (a permanent refusal; subscribe failing while the broker answers, such
   *   as a ConfigError) goes to the `onFatal` listeners, and nothing more is started;
   * - after `stop`, nothing more is subscribed and `onUp` does not run.
   */
  async connect(
    consumers: readonly Consumer[],
    provisioned: readonly ConsumerTopology[],
    onUp: () => void,
  ): Promise<void> {
    this.#consumers = consumers;
    this.#provisioned = provisioned;
    this.#state = 'waiting';
    const broker = this.#broker;
    if (!broker) return this.#connectNow(onUp); // memory: no broker to wait for
    const signal = this.#abort.signal;
    const answered = waitForBroker(this.#transport, this.#config, this.#log, {
      signal,
      closelyForMs: this.#startWaitMs,
    });
    const inTime = await within(
      answered.then(() => true),
      this.#startWaitMs,
      () => false,
    );
    if (inTime) return this.#connectNow(onUp);
    this.#log.warn(
      `${broker.name} at ${broker.url} does not answer yet: serving without the bus; ` +
        '/health/ready answers 503 until it does',
    );
    this.#background = this.#connectLater(answered, onUp);
  }

  /**
   * Calls `listener` once if the connection fails for good after `connect` resolved (at once, on
   * the next tick, if it already has). The kernel then neither consumes nor publishes: the process
   * should stop, naming the error.
   */
  onFatal(listener: (error: Error) => void): void {
    const failure = this.#failure;
    if (failure) queueMicrotask(() => listener(failure));
    else this.#fatalListeners.add(listener);
  }

  /** The readiness detail while the bus is not up (undefined once it is). */
  detail(): string | undefined {
    const broker = this.#broker;
    const at = broker ? `${broker.name} at ${broker.url}` : 'the transport';
    switch (this.#state) {
      case 'idle':
        return 'kernel not started';
      case 'waiting':
        return `waiting for ${at} (${this.#subscribed} of ${this.#consumers.length} consumers subscribed); commands wait in the outbox`;
      case 'subscribing':
        return `${at} answers: subscribing the consumers (${this.#subscribed} of ${this.#consumers.length} done)`;
      case 'up':
        return undefined;
      case 'failed':
        return `the bus connection failed: ${this.#failure?.message ?? 'unknown error'}`;
      case 'stopped':
        return 'kernel stopped';
    }
  }

  /** Ends the background connection at its next step: nothing more is subscribed or started. */
  stop(): void {
    if (this.#state !== 'failed') this.#state = 'stopped';
    this.#abort.abort(new Error('the kernel stopped before its bus was connected'));
  }

  /**
   * Resolves once the background connection has ended (after `stop`, promptly once the transport
   * is closed too: a subscribe waiting for a connection ends with it). Never rejects.
   */
  finished(): Promise<void> {
    return this.#background;
  }

  /** The broker answers: subscribes everyone, then `onUp`; the first error rejects. */
  async #connectNow(onUp: () => void): Promise<void> {
    this.#state = 'subscribing';
    await this.#subscribeAll((consumer) => this.#transport.subscribe(consumer));
    await this.#transport.provision(this.#provisioned);
    this.#up(onUp);
  }

  async #connectLater(answered: Promise<void>, onUp: () => void): Promise<void> {
    try {
      await answered;
      this.#state = 'subscribing';
      await this.#subscribeAll((consumer) =>
        this.#patiently(`subscribing ${consumer.name}`, () => this.#transport.subscribe(consumer)),
      );
      await this.#patiently('provisioning the topology', () => this.#transport.provision(this.#provisioned));
      this.#up(onUp);
    } catch (error) {
      if (this.#abort.signal.aborted) return; // stopped: not a failure
      this.#fail(error instanceof Error ? error : new Error(String(error)));
    }
  }

  async #subscribeAll(subscribe: (consumer: Consumer) => Promise<void>): Promise<void> {
    for (const consumer of this.#consumers.slice(this.#subscribed)) {
      this.#abort.signal.throwIfAborted();
      await consumer.routeAtStart();
      await subscribe(consumer);
      this.#subscribed++;
    }
    this.#abort.signal.throwIfAborted();
  }

  /**
   * Runs a step of the connection (a subscribe, the provisioning), riding out a broker that goes
   * away again meanwhile (waiting for it, as long as it takes). Rejects with a permanent refusal,
   * a ConfigError (such as a partition count that does not match the broker's), or an error that
   * repeats while the broker answers.
   */
  async #patiently(what: string, step: () => Promise<void>): Promise<void> {
    const signal = this.#abort.signal;
    let failures = 0;
    for (;;) {
      try {
        await step();
        return;
      } catch (error) {
        signal.throwIfAborted();
        const health = await healthOf(this.#transport);
        if (health.permanent) throw health.permanent;
        if (health.ok && (error instanceof ConfigError || ++failures >= SUBSCRIBE_ATTEMPTS)) throw error;
        const reason = error instanceof Error ? error.message : String(error);
        this.#log.warn(
          `${what} failed (${reason}); trying again ${health.ok ? 'in a second' : 'once the broker answers'}`,
        );
        if (health.ok) {
          await pause(SUBSCRIBE_RETRY_MS, signal);
        } else {
          this.#state = 'waiting';
          await waitForBroker(this.#transport, this.#config, this.#log, { signal });
        }
        signal.throwIfAborted();
        this.#state = 'subscribing';
      }
    }
  }

  #up(onUp: () => void): void {
    this.#abort.signal.throwIfAborted();
    this.#state = 'up';
    onUp();
  }

  #fail(error: Error): void {
    this.#state = 'failed';
    this.#failure = error;
    this.#log.error({ err: error }, `the bus connection failed for good: ${error.message}`);
    for (const listener of this.#fatalListeners) listener(error);
    this.#fatalListeners.clear();
  }
}
