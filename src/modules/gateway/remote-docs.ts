import type { Logger, OpenApiPaths, ServiceDirectory } from '../../kernel/index.js';
import { ROUTE_PREFIXES } from './routing.js';

const REFRESH_MS = 15_000;
const FETCH_TIMEOUT_MS = 3000;

const underPrefixes = (path: string, prefixes: readonly string[]) =>
  prefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));

/**
 * The OpenAPI paths of the modules this gateway proxies, so /docs and /openapi.json at the gateway
 * describe the whole API as one process would. Read from a live instance of each module
 * (`/openapi.json`), kept to that module's route prefixes, and read again every 15 s (a new
 * version deployed); the last good copy stays while no instance answers.
 */
export class RemoteDocs {
  readonly #directory: ServiceDirectory;
  readonly #modules: readonly string[];
  readonly #log: Logger;
  readonly #paths = new Map<string, Record<string, unknown>>();
  readonly #timer: NodeJS.Timeout;
  #refreshing: Promise<void> | undefined;

  constructor(directory: ServiceDirectory, modules: readonly string[], log: Logger) {
    this.#directory = directory;
    this.#modules = modules;
    this.#log = log;
    this.#timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.#timer.unref();
    void this.refresh();
  }

  /** The paths known so far (undefined before any module answered); asks again for modules not read yet. */
  current(): OpenApiPaths | undefined {
    if (this.#paths.size < this.#modules.length) void this.refresh();
    if (this.#paths.size === 0) return undefined;
    return { paths: Object.assign({}, ...this.#paths.values()) };
  }

  /** Reads each module's paths from one of its live instances; a module that is down keeps its last copy. */
  refresh(): Promise<void> {
    this.#refreshing ??= Promise.all(this.#modules.map((module) => this.#read(module))).then(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  close(): void {
    clearInterval(this.#timer);
  }

  async #read(module: string): Promise<void> {
    const prefixes = ROUTE_PREFIXES[module] ?? [];
    for (const instance of this.#directory.instancesOf(module)) {
      try {
        const answer = await fetch(`${instance.url}/openapi.json`, {
          signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
        });
        if (!answer.ok) continue;
        const { paths = {} } = (await answer.json()) as OpenApiPaths;
        this.#paths.set(
          module,
          Object.fromEntries(Object.entries(paths).filter(([path]) => underPrefixes(path, prefixes))),
        );
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
