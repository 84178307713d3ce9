import { expect, it } from 'vitest';
import { ConfigError } from '../config.js';
import { createLogger } from '../observability/logger.js';
import { describeWithPostgres, postgresUrl } from '../testing/postgres.js';
import { openConfiguredDatabase } from './open.js';

const log = createLogger('silent');
const placement = (url: string) => ({
  dataDir: '/nonexistent',
  dbDurability: 'process' as const,
  databases: { orders: { url, variable: 'DATABASE_URL_ORDERS' } },
});

await describeWithPostgres('opening a module database where the configuration puts it', () => {
  it('refuses a database that does not exist at once, in one line naming the variable', async () => {
    const url = new URL(postgresUrl);
    url.pathname = '/modulith_no_such_database';
    const opening = openConfiguredDatabase(placement(url.toString()), 'orders', log);
    await expect(opening).rejects.toThrow(ConfigError);
    await expect(opening).rejects.toThrow(
      /^DATABASE_URL_ORDERS: PostgreSQL at .*modulith_no_such_database: the database does not exist/,
    );
  });

  it('waits for a server that does not answer, until the start is given up', async () => {
    const url = new URL(postgresUrl);
    url.port = '1'; // nothing listens: refused, as a server not up yet
    const abort = new AbortController();
    const opening = openConfiguredDatabase(placement(url.toString()), 'orders', log, abort.signal);
    const settled = await Promise.race([
      opening.then(
        () => 'opened',
        () => 'failed',
      ),
      sleep(1200),
    ]);
    expect(settled).toBe('waiting');
    abort.abort();
    await expect(opening).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});

const sleep = (ms: number) => new Promise<string>((resolve) => setTimeout(() => resolve('waiting'), ms));
