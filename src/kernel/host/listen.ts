import { type AddressInfo, createServer } from 'node:net';
import { type Config, ConfigError } from '../config.js';
import type { HttpApp } from '../modules/module.js';
import { packageInfo } from '../package-info.js';

type Listener = Pick<Config, 'host' | 'port'>;

/** `host:port` as a person types it (IPv6 in brackets). */
function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * The error that stops a start when HOST:PORT cannot be listened on, naming the variable to change,
 * or undefined for any other error.
 */
export function listenError(error: unknown, { host, port }: Listener): ConfigError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const where = hostPort(host, port);
  if (code === 'EADDRINUSE') {
    return new ConfigError(
      'PORT',
      `${where} is already in use (another process listens there: stop it, or set PORT)`,
    );
  }
  if (code === 'EACCES') {
    return new ConfigError('PORT', `${where} needs privileges to listen on (set PORT above 1023)`);
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new ConfigError('HOST', `${host} is not an address of this machine`);
  }
  return undefined;
}

/**
 * Fails with a ConfigError when HOST:PORT is taken, by listening on it for a moment. The start
 * checks this before it connects to any broker: a port in use is then one line at once, not after
 * the broker's retries (the real listen comes after the kernel starts; a port taken in between is
 * reported the same way by `listen`). PORT=0 (any free port) needs no check.
 */
export async function assertPortFree(config: Listener): Promise<void> {
  if (config.port === 0) return;
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ port: config.port, host: config.host, exclusive: true }, resolve);
    });
  } catch (error) {
    throw listenError(error, config) ?? error;
  }
  await new Promise((resolve) => probe.close(resolve));
}

export interface Listening {
  /** A URL a browser on this machine can open (loopback for a wildcard HOST). */
  readonly url: string;
  readonly transport: string;
  readonly modules: readonly string[];
  readonly availableModules: readonly string[];
}

/** The one line that ends a start: where to go, with what running. */
export function listeningLine({ url, transport, modules, availableModules }: Listening): string {
  const all = availableModules.length > 0 && availableModules.every((name) => modules.includes(name));
  return (
    `${packageInfo.name} listening on ${url} (transport ${transport}, modules: ${all ? 'all' : modules.join(',')})` +
    ` — API docs ${url}/docs, admin ${url}/admin`
  );
}

/** The bound address as a URL a browser on this machine can open. */
export function browsableUrl(address: Pick<AddressInfo, 'address' | 'port'>): string {
  const wildcard: Readonly<Record<string, string>> = { '0.0.0.0': '127.0.0.1', '::': '::1' };
  const host = wildcard[address.address] ?? address.address;
  return `http://${hostPort(host, address.port)}`;
}

/**
 * Listens on HOST:PORT and logs the listening line (Fastify's own "Server listening" line is
 * replaced by it). A wildcard HOST of 0.0.0.0 makes Fastify log each interface: the first line is
 * ours, the others name the other addresses. Rejects with a ConfigError when the port is taken.
 */
export async function listen(app: HttpApp, config: Config): Promise<void> {
  let told = false;
  const listenTextResolver = (address: string): string => {
    if (told) return `also listening on ${address}`;
    told = true;
    const bound = app.server.address();
    const url = bound !== null && typeof bound === 'object' ? browsableUrl(bound) : address;
    return listeningLine({ url, ...config });
  };
  try {
    await app.listen({ port: config.port, host: config.host, listenTextResolver });
  } catch (error) {
    throw listenError(error, config) ?? error;
  }
}
