import type { Span } from '@opentelemetry/api';
import type { Envelope } from '../messaging/envelope.js';
import { UnroutedError } from '../messaging/errors.js';
import type { Transport } from '../messaging/transport.js';
import type { Logger } from '../observability/logger.js';
import type { KernelMetrics } from '../observability/metrics.js';
import { recordFailure, startSendSpan, traceContextOf } from '../observability/tracing.js';
import { type ModuleDatabase, outsideTransactions } from '../persistence/db.js';
import type { Statement } from '../persistence/statement.js';
import { DatabaseLease } from './lease.js';

export interface RelayOptions {
  readonly batchSize: number;
  /** Sweep interval: picks up rows staged by other processes or left by a failed publish. */
  readonly sweepIntervalMs: number;
  /**
   * The relay publishes only while it holds the database's `outbox-relay` lease, so processes
   * sharing a module database publish one at a time, in outbox order. Renewed at half its time
   * (keep it above twice the sweep interval); another process takes over once it expires.
   */
  readonly leaseTtlMs: number;
  /**
   * Passes start at most this often. A message staged after a quiet spell is published on the
   * next macrotask; under load, what is staged meanwhile waits up to this long and goes in one
   * batch (one transport call, one `published_at` update), as Kafka's `linger.ms` does.
   */
  readonly lingerMs: number;
}

export const DEFAULT_RELAY_OPTIONS: RelayOptions = {
  batchSize: 200,
  sweepIntervalMs: 1000,
  leaseTtlMs: 5000,
  lingerMs: 1,
};

export interface OutboxStats {
  readonly module: string;
  readonly pending: number;
  readonly oldestPendingAgeMs: number;
  /**
   * Published messages still kept: those published within OUTBOX_RETENTION_MINUTES, plus any a
   * waiting saga step counts from (older ones are pruned: persistence/pruner.ts). A running total
   * is the counter `bus_messages_published_total`.
   */
  readonly published: number;
}

interface PendingRow {
  seq: number;
  envelope: string;
  created_at: number;
}

/**
 * Publishes committed outbox rows of one module database, oldest first, in batches.
 * A row is marked published only after the transport has accepted its batch, so a crash or a
 * broker outage leaves it pending and it is published again (consumers' inboxes absorb the repeat).
 */
export class OutboxRelay {
  readonly #database: ModuleDatabase;
  readonly #transport: Transport;
  readonly #log: Logger;
  readonly #options: RelayOptions;
  readonly #selectPending: Statement<[number], PendingRow>;
  readonly #markPublished: (seqs: readonly number[]) => Promise<number>;
  readonly #countPending: Statement<[], number>;
  readonly #stats: Statement<[], { pending: number; oldest: number | null; published: number }>;
  #scheduled = false;
  #again = false;
  /** When the last publish pass began (performance.now()). */
  #lastPassAt = Number.NEGATIVE_INFINITY;
  #running: Promise<void> | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #failures = 0;
  #stopped = true;
  readonly #lease: DatabaseLease;
  /** Whether this relay holds the lease (undefined until it first asked). */
  #active: boolean | undefined;

  readonly #metrics: KernelMetrics;

  constructor(
    database: ModuleDatabase,
    transport: Transport,
    log: Logger,
    metrics: KernelMetrics,
    options: Partial<RelayOptions> = {},
  ) {
    this.#metrics = metrics;
    this.#database = database;
    this.#transport = transport;
    this.#log = log;
    this.#options = { ...DEFAULT_RELAY_OPTIONS, ...options };
    this.#selectPending = database.statement<[number], PendingRow>(
      'SELECT seq, envelope, created_at FROM kernel_outbox WHERE published_at IS NULL ORDER BY seq LIMIT ?',
    );
    this.#markPublished = markPublished(database);
    // Over the partial index of pending rows only: its cost is the backlog's, never the retained
    // published rows' (a day of them), so backpressure can sample it several times a second.
    this.#countPending = database.statement<[], number>(
      'SELECT COUNT(*) FROM kernel_outbox WHERE published_at IS NULL',
      { pluck: true },
    );
    this.#stats = database.statement(
      `SELECT COUNT(*) FILTER (WHERE published_at IS NULL) AS pending,
              MIN(created_at) FILTER (WHERE published_at IS NULL) AS oldest,
              COUNT(*) FILTER (WHERE published_at IS NOT NULL) AS published
       FROM kernel_outbox`,
    );
    this.#lease = new DatabaseLease(database, 'outbox-relay', this.#options.leaseTtlMs);
  }

  start(): void {
    this.#stopped = false;
    this.#sweep = setInterval(() => this.wake(), this.#options.sweepIntervalMs);
    this.#sweep.unref();
    this.wake();
  }

  /**
   * Asks for a publish pass: on the next macrotask (after the current transaction has ended), or
   * `lingerMs` after the previous pass began when that is later.
   */
  wake(): void {
    // Called in the staging transaction: the pass must not run in its async context.
    outsideTransactions(() => this.#wake());
  }

  #wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#scheduled) return;
    this.#scheduled = true;
    const run = () => {
      this.#scheduled = false;
      this.#lastPassAt = performance.now();
      this.#running = this.#drain().finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.wake();
        }
      });
    };
    const wait = this.#lastPassAt + this.#options.lingerMs - performance.now();
    if (wait <= 0) setImmediate(run);
    else setTimeout(run, wait);
  }

  /** Stops sweeping and waits for the batch in flight; pending rows stay for the next start. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#sweep);
    clearTimeout(this.#retry);
    await this.#running;
    try {
      if (this.#active) await this.#lease.release();
    } catch (error) {
      this.#log.warn({ err: error }, 'could not release the outbox relay lease; it expires by itself');
    }
    this.#active = undefined;
  }

  async stats(): Promise<OutboxStats> {
    const row = (await this.#stats.get()) ?? { pending: 0, oldest: null, published: 0 };
    return {
      module: this.#database.module,
      pending: row.pending,
      oldestPendingAgeMs: row.oldest === null ? 0 : Math.max(0, Date.now() - row.oldest),
      published: row.published,
    };
  }

  /** Committed rows not yet published (what `stats` counts as pending), read cheaply. */
  async pending(): Promise<number> {
    return (await this.#countPending.get()) ?? 0;
  }

  async #drain(): Promise<void> {
    try {
      for (;;) {
        if (this.#stopped) return;
        if (!(this.#active && this.#lease.heldFresh()) && !(await this.#holdsLease())) return;
        // The reader connection: committed rows only, never those of a transaction still open.
        const rows = await this.#selectPending.all(this.#options.batchSize);
        if (rows.length === 0) break;
        const envelopes = rows.map((row) => JSON.parse(row.envelope) as Envelope);
        await this.#publish(envelopes);
        await this.#markPublished(rows.map((row) => row.seq));
        this.#countPublished(envelopes);
        this.#failures = 0;
        if (rows.length < this.#options.batchSize) break;
      }
    } catch (error) {
      if (error instanceof UnroutedError) this.#countByType(this.#metrics.unrouted, error.types);
      this.#failures++;
      const delay = Math.min(5000, 100 * 2 ** Math.min(this.#failures, 6));
      this.#log.warn({ err: error, retryInMs: delay }, 'outbox publish failed; rows stay pending');
      clearTimeout(this.#retry);
      this.#retry = setTimeout(() => this.wake(), delay);
      this.#retry.unref();
    }
  }

  /**
   * Hands a batch to the transport, each message in a `send <type>` span (OpenTelemetry messaging
   * conventions), child of the span it was staged in (its `traceparent`); the spans end when the
   * transport has accepted the batch, or failed with its error. A message staged outside any trace
   * gets no span: without a parent there is no trace to show it in.
   */
  async #publish(envelopes: readonly Envelope[]): Promise<void> {
    const system = this.#transport.name;
    const spans: Span[] = [];
    for (const envelope of envelopes) {
      const parent = traceContextOf(envelope.traceparent);
      if (parent !== undefined) spans.push(startSendSpan(envelope, system, parent));
    }
    try {
      await this.#transport.publish(envelopes);
    } catch (error) {
      for (const span of spans) recordFailure(span, error);
      throw error;
    } finally {
      for (const span of spans) span.end();
    }
  }

  /** Whether this relay may publish now (holding the lease); logs when that changes. */
  async #holdsLease(): Promise<boolean> {
    const held = await this.#lease.hold();
    if (held !== this.#active) {
      const first = this.#active === undefined;
      this.#active = held;
      if (held) {
        // Quiet when nobody else was there (one process per database, the usual case).
        this.#log[first ? 'debug' : 'info'](
          { holder: this.#lease.holder },
          'outbox relay active: this process publishes',
        );
      } else {
        const holder = await this.#lease.holderNow();
        this.#log.info({ holder }, 'outbox relay standing by: another process publishes this outbox');
      }
    }
    return held;
  }

  #countPublished(envelopes: readonly Envelope[]): void {
    this.#countByType(
      this.#metrics.published,
      envelopes.map((envelope) => envelope.type),
    );
  }

  #countByType(counter: KernelMetrics['published'], types: readonly string[]): void {
    const byType = new Map<string, number>();
    for (const type of types) byType.set(type, (byType.get(type) ?? 0) + 1);
    const labels = { module: this.#database.module, transport: this.#transport.name };
    for (const [type, n] of byType) counter.inc({ ...labels, type }, n);
  }
}

/**
 * Marks the rows `seqs` (one batch, ascending) published, in a transaction of its own. On SQLite
 * write transactions commit one at a time, so seq order is commit order and a batch is the
 * contiguous range first..last. On PostgreSQL transactions commit concurrently: a lower seq may
 * still be uncommitted when a higher one is read, and a range would mark it published unsent; so
 * the batch's own seqs, exactly, in one statement (atomic without BEGIN/COMMIT: one round trip).
 */
function markPublished(database: ModuleDatabase): (seqs: readonly number[]) => Promise<number> {
  if (database.dialect === 'postgres') {
    const update = database.statement<[number, number[]]>(
      'UPDATE kernel_outbox SET published_at = ? WHERE seq = ANY(?) AND published_at IS NULL',
    );
    return async (seqs) => update.run(Date.now(), [...seqs]);
  }
  const update = database.statement<[number, number, number]>(
    'UPDATE kernel_outbox SET published_at = ? WHERE seq BETWEEN ? AND ? AND published_at IS NULL',
  );
  return (seqs) => database.transaction(() => update.run(Date.now(), seqs[0] ?? 0, seqs.at(-1) ?? -1));
}
