import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A connection the client has given up on closes at the server a moment later (its close is
 * handled on a later turn of the event loop), so right after an accept the count can still hold
 * the connections just aborted. The peak is therefore sampled this long after each accept; a bound
 * the dispatcher broke would show for the whole stall (seconds), not for a moment.
 */
export const SETTLE_MS = 50;

/** Connections open now, and the most open at once (sampled SETTLE_MS after each accept). */
export class Gauge {
  open = 0;
  peak = 0;
  up(): void {
    this.open += 1;
    setTimeout(() => {
      this.peak = Math.max(this.peak, this.open);
    }, SETTLE_MS).unref();
  }
  down(): void {
    this.open -= 1;
  }
}

export interface StalledTarget {
  url(path: string): string;
  /** This target's open connections (one per attempt: the dispatcher keeps none alive). */
  readonly gauge: Gauge;
  /** Every request it has received. */
  readonly requests: number;
  close(): Promise<void>;
}

/**
 * A webhook target that accepts the connection, reads the request and never answers, as a hung
 * server does: each one stays open until the client gives up. It counts the connections open at
 * once (in its own gauge, and in `shared` when given: several targets of one user), from the
 * moment each is accepted, which is what a bound on attempts in flight promises a target.
 */
export async function startStalledTarget(shared?: Gauge): Promise<StalledTarget> {
  const own = new Gauge();
  const gauges = shared ? [own, shared] : [own];
  let requests = 0;
  const server = createServer((request) => {
    requests += 1;
    request.resume();
  });
  server.on('connection', (socket) => {
    for (const gauge of gauges) gauge.up();
    socket.on('close', () => {
      for (const gauge of gauges) gauge.down();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    gauge: own,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
