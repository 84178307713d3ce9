import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay from a loopback port to a broker, opened when the test says so: a broker that
 * "comes up" on that port (and, with `stop`, goes away: every connection through it is cut).
 */
export class TcpRelay {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();

  constructor(
    readonly port: number,
    readonly target: { readonly host: string; readonly port: number },
  ) {}

  /** A relay on `port` to the host and port of `url` (`defaultPort` when the URL has none). */
  static to(url: string, defaultPort: number, port: number): TcpRelay {
    const target = new URL(url);
    return new TcpRelay(port, { host: target.hostname, port: Number(target.port) || defaultPort });
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.#server = server;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}
