import mittImport from 'mitt';
import { ConfigError } from '../../../config.js';
import type { Logger } from '../../../observability/logger.js';
import { DatabaseLease } from '../../../outbox/lease.js';
import { allOf, andThen } from '../../../persistence/awaitable.js';
import type { ModuleDatabase } from '../../../persistence/db.js';
import type { Statement } from '../../../persistence/statement.js';
import type { Envelope } from '../../envelope.js';
import type { ConsumerStats, ConsumerTopology, Transport } from '../../transport.js';
import { ConsumerQueue } from './consumer-queue.js';

/** A delivery to record: `queue` when the consumer runs here (then it is indexed for delivery). */
interface Row {
  readonly consumer: string;
  readonly queue?: ConsumerQueue;
  readonly envelope: Envelope;
  readonly json: string;
}

// mitt's typings describe a CommonJS module; its ESM build exports the factory as default.
const mitt = mittImport as unknown as typeof mittImport.default;

/**
 * In-process transport. Durable, not "lost on crash": publish records a delivery row per
 * (message, consumer) in the consumer's database before it resolves; mitt only wakes consumers.
 * Handlers are awaited, and each consumer runs in isolation from the others' failures.
 * A consumer's queue is its rows in its module's database, so provisioning a consumer this process
 * does not run opens that database (`openDatabase`) and publish records its deliveries there too: a
 * later start that runs the module, on the same data, delivers them.
 */
/** How long a process's claim on a PostgreSQL database outlives it (a crash): another may start then. */
const CLAIM_TTL_MS = 10_000;

export function createMemoryTransport(
  log: Logger,
  openDatabase?: (module: string) => Promise<ModuleDatabase>,
): Transport {
  const queues = new Map<string, ConsumerQueue>();
  const wakeups = mitt<Record<string, undefined>>();
  const scheduled = new Set<string>();
  /** Consumers provisioned without running here, by type they take; and their modules' databases. */
  const provisioned = new Map<string, { name: string; database: ModuleDatabase }[]>();
  const provisionedDatabases = new Map<string, ModuleDatabase>();
  let closed = false;
  const claims = new Map<ModuleDatabase, DatabaseLease>();
  let renewal: NodeJS.Timeout | undefined;

  /**
   * A consumer's queue is read into this process's memory: two processes delivering from one
   * database would each run its deliveries. A SQLite file is one host's, and this transport one
   * process's; a PostgreSQL database can be reached by copies of the app on many hosts, so the
   * first consumer of each database here claims it (lease `memory-transport`, renewed while this
   * transport runs), and a process that finds it held refuses to start: several processes of a
   * module need a broker transport.
   */
  const claim = async (database: ModuleDatabase): Promise<void> => {
    if (database.dialect !== 'postgres' || claims.has(database)) return;
    const lease = new DatabaseLease(database, 'memory-transport', CLAIM_TTL_MS);
    if (!(await lease.hold())) {
      const holder = (await lease.holderNow()) ?? 'another process';
      throw new ConfigError(
        'TRANSPORT',
        `memory delivers from one process per database, and ${holder} already delivers from the ${database.module} database on PostgreSQL: run several processes on bullmq or rabbitmq`,
      );
    }
    claims.set(database, lease);
    renewal ??= setInterval(() => {
      for (const [claimed, held] of claims) {
        held.hold().then(
          (still) => {
            if (!still)
              log.error({ module: claimed.module }, 'memory transport: another process took this database');
          },
          (error: unknown) =>
            log.warn({ err: error, module: claimed.module }, 'memory transport: claim not renewed'),
        );
      }
    }, CLAIM_TTL_MS / 4);
    renewal.unref();
  };

  const databaseOf = async (module: string): Promise<ModuleDatabase> => {
    if (openDatabase === undefined) {
      throw new Error(
        'the memory transport provisions a consumer in its module database: give it a way to open them',
      );
    }
    let database = provisionedDatabases.get(module);
    if (!database) {
      database = await openDatabase(module);
      provisionedDatabases.set(module, database);
    }
    return database;
  };

  const wake = (consumer: string) => {
    if (scheduled.has(consumer)) return;
    scheduled.add(consumer);
    setImmediate(() => {
      scheduled.delete(consumer);
      wakeups.emit(consumer);
    });
  };

  type DeliveryRow = { consumer: string; id: string; key: string; envelope: string; at: number };
  /** A delivery row, unless the message is recorded for this consumer already: its seq, or undefined. */
  type Insert = Statement<DeliveryRow, number>;
  const statementsOf = new WeakMap<ModuleDatabase, { insert: Insert; insertUnsettled: Insert }>();
  const statementsFor = (database: ModuleDatabase) => {
    let statements = statementsOf.get(database);
    if (!statements) {
      statements = {
        insert: database.statement(
          `INSERT INTO kernel_deliveries (consumer, message_id, partition_key, envelope, available_at)
           VALUES (@consumer, @id, @key, @envelope, @at) ON CONFLICT DO NOTHING RETURNING seq`,
          { pluck: true },
        ),
        // …nor settled by it (in its inbox): a delivery recorded so is known unsettled when it runs
        insertUnsettled: database.statement(
          `INSERT INTO kernel_deliveries (consumer, message_id, partition_key, envelope, available_at)
           SELECT @consumer, @id, @key, @envelope, @at
           WHERE NOT EXISTS (SELECT 1 FROM kernel_inbox WHERE consumer = @consumer AND message_id = @id)
           ON CONFLICT DO NOTHING RETURNING seq`,
          { pluck: true },
        ),
      };
      statementsOf.set(database, statements);
    }
    return statements;
  };

  /**
   * Inserts the delivery rows in one transaction, then indexes the ones actually inserted (a
   * message already recorded for a consumer, or already in its inbox, is ignored, so a republish
   * after a crash is no duplicate). Indexing only after the commit: a rolled-back row must never be
   * scheduled.
   */
  const record = async (database: ModuleDatabase, rows: readonly Row[]) => {
    const { insertUnsettled } = statementsFor(database);
    const now = Date.now();
    const inserted: [ConsumerQueue, string, number, string][] = [];
    await database.transaction(() => {
      // Sent together, not one after the other: on PostgreSQL (a pipelined connection) the batch
      // takes one round trip, not one per row; rows are inserted in this order either way.
      const seqs = allOf(
        rows.map(({ consumer, envelope, json }) =>
          insertUnsettled.get({
            consumer,
            id: envelope.id,
            key: envelope.partitionkey,
            envelope: json,
            at: now,
          }),
        ),
      );
      return andThen(seqs, (inserts) => {
        rows.forEach(({ queue, envelope, json }, index) => {
          const seq = inserts[index];
          // no row back: this message was already recorded for this consumer
          if (queue && seq !== undefined) inserted.push([queue, envelope.partitionkey, seq, json]);
        });
      });
    });
    for (const [queue, key, seq, json] of inserted) queue.append(key, seq, json);
  };

  return {
    name: 'memory',

    async publish(messages) {
      if (closed) throw new Error('memory transport is closed');
      const byDatabase = new Map<ModuleDatabase, Row[]>();
      const add = (database: ModuleDatabase, row: Row) => {
        const rows = byDatabase.get(database);
        if (rows)
          rows.push(row); // appended in place: a batch is up to 200 messages × consumers
        else byDatabase.set(database, [row]);
      };
      for (const envelope of messages) {
        const json = JSON.stringify(envelope);
        for (const queue of queues.values()) {
          const { endpoint } = queue;
          if (!endpoint.types.includes(envelope.type)) continue; // read now: routes grow at run time
          add(endpoint.database, { consumer: endpoint.name, queue, envelope, json });
        }
        for (const { name, database } of provisioned.get(envelope.type) ?? []) {
          add(database, { consumer: name, envelope, json }); // delivered when its module runs here
        }
      }
      for (const [database, rows] of byDatabase) await record(database, rows);
      for (const rows of byDatabase.values())
        for (const { queue } of rows) if (queue) wake(queue.endpoint.name);
    },

    async subscribe(endpoint) {
      if (queues.has(endpoint.name)) throw new Error(`consumer ${endpoint.name} is already subscribed`);
      await claim(endpoint.database);
      const queue = new ConsumerQueue(endpoint, log);
      queues.set(endpoint.name, queue);
      await queue.resume();
      wakeups.on(endpoint.name, () => queue.pump());
      wake(endpoint.name); // resume deliveries left by an earlier run
    },

    async provision(consumers: readonly ConsumerTopology[]) {
      for (const { name, module, types } of consumers) {
        if (types.length === 0 || queues.has(name)) continue;
        const database = await databaseOf(module);
        for (const type of types) {
          const takers = provisioned.get(type) ?? [];
          if (!takers.some((taker) => taker.name === name))
            provisioned.set(type, [...takers, { name, database }]);
        }
      }
    },

    async route() {
      // nothing to do: every publish reads the endpoint's types, which the kernel has already widened
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
      const { insert } = statementsFor(endpoint.database);
      const seq = await endpoint.database.transaction(() =>
        insert.get({ consumer: endpoint.name, id, key, envelope: raw, at: Date.now() }),
      );
      // Not subscribed here yet: the row is loaded with the others when the consumer subscribes.
      const queue = queues.get(endpoint.name);
      if (queue && seq !== undefined) queue.append(key, seq);
      wake(endpoint.name);
    },

    async stats(): Promise<ConsumerStats[]> {
      return Promise.all(
        [...queues.values()].map(async (queue) => {
          const depth = await queue.depth();
          return { consumer: queue.endpoint.name, depth, lag: depth };
        }),
      );
    },

    connected: () => true,

    async health() {
      return closed ? { ok: false, detail: 'closed' } : { ok: true };
    },

    async close() {
      if (closed) return;
      closed = true;
      wakeups.all.clear();
      await Promise.all([...queues.values()].map((queue) => queue.close()));
      clearInterval(renewal);
      await Promise.all([...claims.values()].map((lease) => lease.release().catch(() => undefined)));
      await Promise.all([...provisionedDatabases.values()].map((database) => database.close()));
    },
  };
}
