import type { Statement } from 'better-sqlite3';
import mittImport from 'mitt';
import type { Logger } from '../../observability/logger.js';
import type { ModuleDatabase } from '../../persistence/db.js';
import type { Envelope } from '../envelope.js';
import type { ConsumerEndpoint, ConsumerStats, Transport } from '../transport.js';

// mitt's typings describe a CommonJS module; its ESM build exports the factory as default.
const mitt = mittImport as unknown as typeof mittImport.default;

const PAUSE_ON_FAILURE_MS = 1000;

interface DeliveryRow {
  seq: number;
  partition_key: string;
  envelope: string;
  attempts: number;
  available_at: number;
}

/**
 * One consumer's deliveries, kept in its own module database (an event publication registry):
 * a row is written when a message is published and deleted in the transaction that handles or
 * dead-letters it, so a crash at any point leaves the delivery to be resumed at the next start.
 */
class ConsumerQueue {
  readonly #endpoint: ConsumerEndpoint;
  readonly #log: Logger;
  readonly #heads: Statement<[{ consumer: string; now: number; limit: number }], DeliveryRow>;
  readonly #nextAvailable: Statement<[string, number], number | null>;
  readonly #remove: Statement<[number]>;
  readonly #reschedule: Statement<[number, number, string, number]>;
  readonly #count: Statement<[string], number>;
  /** Partition keys with a delivery in flight, and that delivery's promise. */
  readonly #inFlight = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #closed = false;
  /** After a delivery failed outside the handler (its database), nothing starts before this. */
  #pausedUntil = 0;

  constructor(endpoint: ConsumerEndpoint, log: Logger) {
    this.#endpoint = endpoint;
    this.#log = log;
    const { sqlite } = endpoint.database;
    // The oldest delivery of each partition key (the only one that may run), when due: heads
    // waiting for a retry must not fill the LIMIT and starve the keys behind them.
    this.#heads = sqlite.prepare(
      `SELECT seq, partition_key, envelope, attempts, available_at FROM kernel_deliveries d
       WHERE consumer = @consumer AND available_at <= @now
         AND seq = (SELECT MIN(seq) FROM kernel_deliveries
                    WHERE consumer = @consumer AND partition_key = d.partition_key)
       ORDER BY seq LIMIT @limit`,
    );
    this.#nextAvailable = sqlite
      .prepare<[string, number], number | null>(
        'SELECT MIN(available_at) FROM kernel_deliveries WHERE consumer = ? AND available_at > ?',
      )
      .pluck();
    this.#remove = sqlite.prepare('DELETE FROM kernel_deliveries WHERE seq = ?');
    this.#reschedule = sqlite.prepare(
      'UPDATE kernel_deliveries SET attempts = ?, available_at = ?, last_error = ? WHERE seq = ?',
    );
    this.#count = sqlite
      .prepare<[string], number>('SELECT COUNT(*) FROM kernel_deliveries WHERE consumer = ?')
      .pluck();
  }

  get endpoint(): ConsumerEndpoint {
    return this.#endpoint;
  }

  /** Starts every runnable delivery, up to the endpoint's concurrency, one per partition key. */
  pump(): void {
    if (this.#closed) return;
    if (Date.now() < this.#pausedUntil) {
      this.#wakeAt(this.#pausedUntil);
      return;
    }
    try {
      this.#pump();
    } catch (error) {
      // A failing database must not take the process down; retry the pump a little later.
      this.#log.error({ err: error, consumer: this.#endpoint.name }, 'delivery pump failed');
      this.#wakeAt(Date.now() + PAUSE_ON_FAILURE_MS);
    }
  }

  #pump(): void {
    const { concurrency, name } = this.#endpoint;
    const free = concurrency - this.#inFlight.size;
    if (free <= 0) return;
    const now = Date.now();
    let started = 0;
    for (const row of this.#heads.all({ consumer: name, now, limit: this.#inFlight.size + free * 4 + 16 })) {
      if (started >= free) break;
      if (this.#inFlight.has(row.partition_key)) continue;
      this.#start(row);
      started++;
    }
    const nextAt = this.#nextAvailable.get(name, now);
    if (nextAt !== null && nextAt !== undefined) this.#wakeAt(nextAt);
  }

  depth(): number {
    return this.#count.get(this.#endpoint.name) ?? 0;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await Promise.all(this.#inFlight.values());
  }

  #start(row: DeliveryRow): void {
    const attempt = row.attempts + 1;
    const run = this.#endpoint
      .deliver(row.envelope, attempt, () => this.#remove.run(row.seq))
      .then((outcome) => {
        if (outcome.kind === 'retry' && this.#endpoint.database.sqlite.open) {
          this.#reschedule.run(attempt, Date.now() + outcome.delayMs, outcome.error, row.seq);
        }
      })
      .catch((error: unknown) => {
        // deliver never throws, but its database can (busy, full): pause, not a hot loop on the row.
        this.#log.error({ err: error, consumer: this.#endpoint.name }, 'delivery failed; consumer paused');
        this.#pausedUntil = Date.now() + PAUSE_ON_FAILURE_MS;
      })
      .finally(() => {
        this.#inFlight.delete(row.partition_key);
        this.pump();
      });
    this.#inFlight.set(row.partition_key, run);
  }

  #wakeAt(at: number): void {
    if (this.#timer && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(0, at - Date.now()),
    );
  }
}

/**
 * In-process transport. Durable, not "lost on crash": publish records a delivery row per
 * (message, consumer) in the consumer's database before it resolves; mitt only wakes consumers.
 * Handlers are awaited, and each consumer runs in isolation from the others' failures.
 */
export function createMemoryTransport(log: Logger): Transport {
  const queues = new Map<string, ConsumerQueue>();
  const wakeups = mitt<Record<string, undefined>>();
  const scheduled = new Set<string>();
  let closed = false;

  const wake = (consumer: string) => {
    if (scheduled.has(consumer)) return;
    scheduled.add(consumer);
    setImmediate(() => {
      scheduled.delete(consumer);
      wakeups.emit(consumer);
    });
  };

  const inserts = new WeakMap<ModuleDatabase, Statement<[string, string, string, string, number]>>();
  const insertFor = (database: ModuleDatabase) => {
    let insert = inserts.get(database);
    if (!insert) {
      insert = database.sqlite.prepare(
        `INSERT OR IGNORE INTO kernel_deliveries (consumer, message_id, partition_key, envelope, available_at)
         VALUES (?, ?, ?, ?, ?)`,
      );
      inserts.set(database, insert);
    }
    return insert;
  };

  const record = (database: ModuleDatabase, rows: readonly [ConsumerEndpoint, Envelope, string][]) => {
    const insert = insertFor(database);
    const now = Date.now();
    database.writeTransaction(() => {
      for (const [endpoint, envelope, json] of rows) {
        insert.run(endpoint.name, envelope.id, envelope.partitionkey, json, now);
      }
    });
  };

  return {
    name: 'memory',

    async publish(messages) {
      if (closed) throw new Error('memory transport is closed');
      const byDatabase = new Map<ModuleDatabase, [ConsumerEndpoint, Envelope, string][]>();
      for (const envelope of messages) {
        const json = JSON.stringify(envelope);
        for (const queue of queues.values()) {
          const { endpoint } = queue;
          if (!endpoint.types.includes(envelope.type)) continue;
          const rows = byDatabase.get(endpoint.database) ?? [];
          rows.push([endpoint, envelope, json]);
          byDatabase.set(endpoint.database, rows);
        }
      }
      for (const [database, rows] of byDatabase) record(database, rows);
      for (const rows of byDatabase.values()) for (const [endpoint] of rows) wake(endpoint.name);
    },

    async subscribe(endpoint) {
      if (queues.has(endpoint.name)) throw new Error(`consumer ${endpoint.name} is already subscribed`);
      const queue = new ConsumerQueue(endpoint, log);
      queues.set(endpoint.name, queue);
      wakeups.on(endpoint.name, () => queue.pump());
      wake(endpoint.name); // resume deliveries left by an earlier run
    },

    async redeliver(endpoint, raw) {
      let envelope: Partial<Envelope> = {};
      try {
        const parsed: unknown = JSON.parse(raw);
        // JSON but not an object (`null`, `42`): like not JSON, dead-lettered again with the reason
        if (parsed !== null && typeof parsed === 'object') envelope = parsed as Partial<Envelope>;
      } catch {
        // not JSON: it will be dead-lettered again, with the reason
      }
      const id = typeof envelope.id === 'string' ? envelope.id : `raw:${Date.now()}:${Math.random()}`;
      const key = typeof envelope.partitionkey === 'string' ? envelope.partitionkey : id;
      insertFor(endpoint.database).run(endpoint.name, id, key, raw, Date.now());
      wake(endpoint.name);
    },

    async stats(): Promise<ConsumerStats[]> {
      return [...queues.values()].map((queue) => {
        const depth = queue.depth();
        return { consumer: queue.endpoint.name, depth, lag: depth };
      });
    },

    async health() {
      return closed ? { ok: false, detail: 'closed' } : { ok: true };
    },

    async close() {
      if (closed) return;
      closed = true;
      wakeups.all.clear();
      await Promise.all([...queues.values()].map((queue) => queue.close()));
    },
  };
}
