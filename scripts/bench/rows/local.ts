/** Raw local building blocks: a better-sqlite3 transaction per message, and a mitt dispatch. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mittImport from 'mitt';
import { benchEnvelope } from '../lib/messages.js';
import { type BenchOptions, scale } from '../lib/options.js';
import type { Measurement, RowSpec } from '../lib/rows.js';
import { bestOfRounds, summarize } from '../lib/stats.js';

// mitt's typings describe a CommonJS module; its ESM build exports the factory as default.
const mitt = mittImport as unknown as typeof mittImport.default;

const SECTION = 'Message path';

/** One transaction per message: a business row and an outbox-like row, WAL, synchronous=NORMAL. */
async function rawSqlite(count: number, rounds: number): Promise<Measurement> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-sqlite-'));
  const db = new Database(join(dir, 'raw.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.exec(`CREATE TABLE items (n INTEGER PRIMARY KEY, key TEXT NOT NULL);
      CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, type TEXT NOT NULL,
        partition_key TEXT NOT NULL, envelope TEXT NOT NULL, created_at INTEGER NOT NULL, published_at INTEGER);
      CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;`);
    const item = db.prepare('INSERT INTO items (n, key) VALUES (?, ?)');
    const outbox = db.prepare(
      'INSERT INTO outbox (id, type, partition_key, envelope, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    const tx = db.transaction((n: number) => {
      const envelope = benchEnvelope(n);
      item.run(n, envelope.partitionkey);
      outbox.run(randomUUID(), envelope.type, envelope.partitionkey, JSON.stringify(envelope), Date.now());
    });
    const { rate, latency } = await bestOfRounds(rounds, count, (n) => tx.immediate(n));
    return { value: rate, unit: 'tx/s', p50: latency.p50, p99: latency.p99 };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** mitt emit → one handler; latency per emit from batches of 1000 emits. */
function rawMitt(batches: number): Measurement {
  const emitter = mitt<{ item: { n: number } }>();
  let sum = 0;
  emitter.on('item', (event) => {
    sum += event.n;
  });
  const perEmit: number[] = [];
  const event = { n: 1 };
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) {
    const s = performance.now();
    for (let i = 0; i < 1000; i++) emitter.emit('item', event);
    perEmit.push((performance.now() - s) / 1000);
  }
  const rate = (batches * 1000) / ((performance.now() - t0) / 1000);
  if (sum !== batches * 1000) throw new Error('mitt lost events');
  const latency = summarize(perEmit);
  return { value: rate, unit: 'msg/s', p50: latency.p50, p99: latency.p99 };
}

export function localRawRows(options: BenchOptions): RowSpec[] {
  const count = scale(options, 20_000, 4000);
  return [
    {
      id: 'raw-sqlite-tx',
      section: SECTION,
      label: 'raw better-sqlite3: one tx per message (row + outbox row)',
      method:
        `${count} transactions (best of ${scale(options, 2, 1)} rounds), each \`BEGIN IMMEDIATE\`, an INSERT of a ` +
        'business row and an INSERT of an outbox row shaped like `kernel_outbox` (same indexes), COMMIT; ' +
        'WAL, synchronous=NORMAL, prepared statements, a fresh file. Latency: the time of one transaction.',
      timeoutMs: 120_000,
      run: async () => rawSqlite(count, scale(options, 2, 1)),
    },
    {
      id: 'raw-mitt',
      section: SECTION,
      label: 'raw mitt: emit → one handler',
      method:
        'mitt `emit` to one synchronous handler, in batches of 1000; latency is one emit (batch time / 1000).',
      timeoutMs: 60_000,
      run: async () => rawMitt(scale(options, 5000, 500)),
    },
  ];
}
