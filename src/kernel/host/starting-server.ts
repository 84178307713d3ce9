import { createServer, STATUS_CODES } from 'node:http';
import type { Config } from '../config.js';
import { problemTypeOf } from '../http/error-docs.js';
import { startWaits } from '../observability/start-waits.js';

const RETRY_AFTER_SECONDS = '2';

export interface StartingResponder {
  /** Stops answering (every connection closed) so that the app can listen on the port. */
  close(): Promise<void>;
}

/**
 * While the start waits (a module's PostgreSQL server does not answer yet: `startWaits`), the port
 * answers instead of refusing connections: `/health/live` 200, `/health/ready` 503 naming each
 * wait as readiness names its checks, anything else 503 problem+json `DATABASE_UNAVAILABLE` with
 * `retry-after`. It listens from the first wait only, so a start that waits for nothing is as
 * before; `close` before the app listens (connections are refused for the moment in between).
 * PORT=0 has no port to hold for the app: nothing is served.
 */
export function answerWhileStarting(config: Pick<Config, 'host' | 'port'>): StartingResponder {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown, type = 'application/json') => {
      response.writeHead(status, { 'content-type': type, 'retry-after': RETRY_AFTER_SECONDS });
      response.end(JSON.stringify(body));
    };
    if (path === '/health/live') return json(200, { status: 'pass', checks: {} });
    const checks = Object.fromEntries(
      [...startWaits.current()].map(([check, detail]) => [check, { status: 'fail', detail }]),
    );
    if (path === '/health/ready') return json(503, { status: 'fail', checks });
    return json(
      503,
      {
        type: problemTypeOf('DATABASE_UNAVAILABLE'),
        title: STATUS_CODES[503],
        status: 503,
        code: 'DATABASE_UNAVAILABLE',
        detail: `the process is starting: ${[...startWaits.current().values()].join('; ') || 'almost ready'}`,
      },
      'application/problem+json',
    );
  });
  let listening: Promise<void> | undefined;
  const listen = () => {
    if (listening || config.port === 0 || startWaits.current().size === 0) return;
    listening = new Promise<void>((resolve) => {
      // a port taken meanwhile is the app's listen to report, with its one line
      server.once('error', () => resolve());
      server.listen({ port: config.port, host: config.host, exclusive: true }, resolve);
    });
  };
  const unsubscribe = startWaits.onChange(listen);
  listen();
  return {
    async close() {
      unsubscribe();
      if (!listening) return;
      await listening;
      if (!server.listening) return;
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    },
  };
}
