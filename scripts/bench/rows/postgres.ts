/**
 * Raw PostgreSQL: the transaction of `raw-sqlite-tx` (a business row and an outbox row) with
 * node-postgres directly, on a throwaway database of the local server (TEST_POSTGRES_URL's).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { postgresSkipReason, postgresUrl } from '../../../src/kernel/testing/postgres.js';
import { benchDatabase } from '../lib/databases.js';
import { benchEnvelope } from '../lib/messages.js';
import { type BenchOptions, scale } from '../lib/options.js';
import type { Measurement, RowSpec } from '../lib/rows.js';
import { bestOfRounds } from '../lib/stats.js';

/** The server's address without a password, for the method text. */
export const postgresServer = (): string => {
  const url = new URL(postgresUrl);
  return `${url.hostname}:${url.port || '5432'}`;
};

/**
 * One transaction per message, as `raw-sqlite-tx`: BEGIN, an INSERT of a business row, an INSERT of
 * an outbox row shaped like `kernel_outbox` (bigserial seq, the pending partial index), COMMIT, on
 * one connection with `synchronous_commit=off` (what the kernel sets for DB_DURABILITY=process).
 */
async function rawPostgres(count: number, rounds: number): Promise<Measurement> {
  const database = await benchDatabase('raw_pg');
  const client = new pg.Client({
    connectionString: database.url,
    options: '-c synchronous_commit=off',
    application_name: 'bench:raw-postgres-tx',
  });
  // A connection lost while idle emits 'error'; without a listener that would end the bench.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(`CREATE TABLE items (n BIGINT PRIMARY KEY, key TEXT NOT NULL);
      CREATE TABLE outbox (seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL,
        partition_key TEXT NOT NULL, envelope TEXT NOT NULL, created_at BIGINT NOT NULL, published_at BIGINT);
      CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;`);
    const tx = async (n: number) => {
      const envelope = benchEnvelope(n);
      await client.query('BEGIN');
      try {
        await client.query({
          name: 'item',
          text: 'INSERT INTO items (n, key) VALUES ($1, $2)',
          values: [n, envelope.partitionkey],
        });
        await client.query({
          name: 'outbox',
          text: 'INSERT INTO outbox (id, type, partition_key, envelope, created_at) VALUES ($1, $2, $3, $4, $5)',
          values: [randomUUID(), envelope.type, envelope.partitionkey, JSON.stringify(envelope), Date.now()],
        });
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    };
    const { rate, latency } = await bestOfRounds(rounds, count, tx);
    return { value: rate, unit: 'tx/s', p50: latency.p50, p99: latency.p99 };
  } finally {
    await client.end().catch(() => {});
    await database.drop();
  }
}

export function postgresRawRows(options: BenchOptions): RowSpec[] {
  const count = scale(options, 20_000, 4000);
  const rounds = scale(options, 2, 1);
  return [
    {
      id: 'raw-postgres-tx',
      section: 'Message path',
      label: 'raw node-postgres: one tx per message (row + outbox row)',
      method:
        `The transaction of \`raw-sqlite-tx\` on PostgreSQL: ${count} transactions (best of ${rounds} rounds), ` +
        'each `BEGIN`, an INSERT of a business row and an INSERT of an outbox row shaped like `kernel_outbox` ' +
        '(bigserial seq, the same pending index), `COMMIT`: four round trips, one after the other, on one ' +
        'node-postgres `Client` (named prepared statements), to a throwaway database (dropped after) on the ' +
        `local server (${postgresServer()}, TEST_POSTGRES_URL) over TCP loopback, with ` +
        "`synchronous_commit=off`: what the kernel sets for DB_DURABILITY=process, the e2e PostgreSQL rows' " +
        'setting (a commit does not wait for its WAL to reach the disk). Latency: the time of one transaction. ' +
        'The ratio is to the raw SQLite transaction of the same run.',
      against: ['raw-sqlite-tx'],
      timeoutMs: 180_000,
      skip: postgresSkipReason,
      run: () => rawPostgres(count, rounds),
    },
  ];
}
