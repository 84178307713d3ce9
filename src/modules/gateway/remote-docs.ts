import type { AsyncApiParts, Logger, OpenApiPaths, ServiceDirectory } from '../../kernel/index.js';
import { type RoutedModule, underPrefixes } from './routing.js';

const REFRESH_MS = 15_000;
const FETCH_TIMEOUT_MS = 3000;

type Entries = Record<string, unknown>;
const pick = (entries: Entries | undefined, keep: (key: string, value: unknown) => boolean): Entries =>
  Object.fromEntries(Object.entries(entries ?? {}).filter(([key, value]) => keep(key, value)));
const merge = (parts: Iterable<Entries>): Entries => Object.assign({}, ...parts);

interface ModuleDocs {
  readonly paths: Entries;
  readonly channels: Entries;
  readonly operations: Entries;
  readonly messages: Entries;
}

/** A module's own share of its process's AsyncAPI document: its operations and the channels and messages they use. */
function asyncApiOf(module: string, document: AsyncApiParts): Omit<ModuleDocs, 'paths'> {
  const operations = pick(
    document.operations,
    (_, op) => (op as { 'x-module'?: unknown })['x-module'] === module,
  );
  const used = new Set(
    Object.values(operations).map((op) =>
      String((op as { channel?: { $ref?: unknown } }).channel?.$ref)
        .split('/')
        .pop(),
    ),
  );
  return {
    operations,
    channels: pick(document.channels, (type) => used.has(type)),
    messages: pick(document.components?.messages, (type) => used.has(type)),
  };
}

/**
 * The routes and messages of the modules this gateway proxies, so /docs, /openapi.json and
 * /asyncapi.json at the gateway describe the whole system as one process's do. Read from a live
 * instance of each module (its `/openapi.json`, kept to the module's route prefixes, and its
 * `/asyncapi.json`, kept to the module's operations), and read again every 15 s (a new version
 * deployed); the last good copy stays while no instance answers.
 */
export class RemoteDocs {
  readonly #directory: ServiceDirectory;
  readonly #modules: readonly RoutedModule[];
  readonly #log: Logger;
  readonly #docs = new Map<string, ModuleDocs>();
  readonly #timer: NodeJS.Timeout;
  #refreshing: Promise<void> | undefined;

  constructor(directory: ServiceDirectory, modules: readonly RoutedModule[], log: Logger) {
    this.#directory = directory;
    this.#modules = modules;
    this.#log = log;
    this.#timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.#timer.unref();
    void this.refresh();
  }

  /** The OpenAPI paths known so far (undefined before any module answered). */
  openApi(): OpenApiPaths | undefined {
    if (!this.#known()) return undefined;
    return { paths: merge(this.#each((docs) => docs.paths)) };
  }

  /** The AsyncAPI channels, operations and messages known so far. */
  asyncApi(): AsyncApiParts | undefined {
    if (!this.#known()) return undefined;
    return {
      channels: merge(this.#each((docs) => docs.channels)),
      operations: merge(this.#each((docs) => docs.operations)),
      components: { messages: merge(this.#each((docs) => docs.messages)) },
    };
  }

  /** True when some module was read; asks again for the modules not read yet. */
  #known(): boolean {
    if (this.#docs.size < this.#modules.length) void this.refresh();
    return this.#docs.size > 0;
  }

  #each(part: (docs: ModuleDocs) => Entries): Entries[] {
    return [...this.#docs.values()].map(part);
  }

  /** Reads each module's documents from one of its live instances; a module that is down keeps its last copy. */
  refresh(): Promise<void> {
    this.#refreshing ??= Promise.all(this.#modules.map((module) => this.#read(module))).then(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  close(): void {
    clearInterval(this.#timer);
  }

  async #read({ name: module, prefixes }: RoutedModule): Promise<void> {
    for (const instance of this.#directory.instancesOf(module)) {
      try {
        const [openapi, asyncapi] = await Promise.all(
          ['openapi.json', 'asyncapi.json'].map(async (name) => {
            const answer = await fetch(`${instance.url}/${name}`, {
              signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
            });
            if (!answer.ok) throw new Error(`${name}: ${answer.status}`);
            return answer.json();
          }),
        );
        const paths = pick((openapi as OpenApiPaths).paths, (path) => underPrefixes(path, prefixes));
        this.#docs.set(module, { paths, ...asyncApiOf(module, asyncapi as AsyncApiParts) });
        return;
      } catch (error) {
        this.#log.debug(
          { err: error, module, url: instance.url },
          'gateway: reading an OpenAPI document failed',
        );
      }
    }
  }
}
