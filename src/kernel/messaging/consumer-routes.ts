import { messagesOf, type Subscription } from './subscription.js';
import type { ConsumerEndpoint, Transport } from './transport.js';

/**
 * The types routed to one consumer: every type its subscription handles, or the fewer its
 * `typesAtStart` names, and more as the module routes them while it runs (they never shrink).
 */
export class ConsumerRoutes<Module = unknown> {
  /** Every type the consumer can handle (its subscription's messages). */
  readonly handles: readonly string[];
  readonly #consumer: string;
  /** The subscription's `typesAtStart`, given the running module's context. */
  readonly #typesAtStart: (() => readonly string[] | Promise<readonly string[]>) | undefined;
  #routed: readonly string[];
  /** The last `route` call, failed or not; set once routed at start. */
  #routing: Promise<unknown> | undefined;

  constructor(subscription: Subscription<Module>, moduleContext: Module) {
    const { typesAtStart } = subscription;
    this.#consumer = subscription.consumer;
    this.#typesAtStart =
      typeof typesAtStart === 'function'
        ? () => typesAtStart(moduleContext)
        : typesAtStart && (() => typesAtStart);
    this.handles = messagesOf(subscription).map((m) => m.type);
    this.#routed = this.handles;
  }

  /** The types routed now. */
  get types(): readonly string[] {
    return this.#routed;
  }

  /** Narrows the routed types to the subscription's `typesAtStart` (before it subscribes). */
  async routeAtStart(): Promise<void> {
    // A module reads them from its database: asynchronously on either backend.
    if (this.#typesAtStart) this.#routed = [...new Set(this.#handled(await this.#typesAtStart()))];
    this.#routing = Promise.resolve();
  }

  /**
   * Routes these types to the endpoint through the transport. Calls run one after another, and a
   * type is taken as routed only once the transport has routed it, so a failed call leaves nothing
   * half done.
   */
  route(
    endpoint: ConsumerEndpoint,
    types: readonly string[],
    transport: Pick<Transport, 'route'>,
  ): Promise<void> {
    const added = [...new Set(this.#handled(types))];
    if (!this.#routing) {
      throw new Error(`${endpoint.name} is not subscribed yet: its types are routed from start`);
    }
    const run = this.#routing.then(async () => {
      const missing = added.filter((type) => !this.#routed.includes(type));
      if (missing.length === 0) return;
      this.#routed = [...this.#routed, ...missing]; // first, so a transport that redeclares meanwhile has them
      try {
        await transport.route(endpoint, missing);
      } catch (error) {
        this.#routed = this.#routed.filter((type) => !missing.includes(type));
        throw error;
      }
    });
    this.#routing = run.catch(() => {});
    return run;
  }

  #handled(types: readonly string[]): readonly string[] {
    const unknown = types.filter((type) => !this.handles.includes(type));
    if (unknown.length > 0) {
      throw new Error(`${this.#consumer} does not handle ${unknown.join(', ')}`);
    }
    return types;
  }
}
