import type { Logger } from '../../../observability/logger.js';
import type { Statement } from '../../../persistence/statement.js';
import { type ConsumerEndpoint, nextAttempt, runsAgain } from '../../transport.js';

const PAUSE_ON_FAILURE_MS = 1000;
/** Envelopes of fresh deliveries kept in memory at most (a backlog beyond is read from its rows). */
const FRESH_ENVELOPES_MAX = 10_000;

interface DeliveryRow {
  envelope: string;
  attempts: number;
  available_at: number;
}

interface PendingRow {
  seq: number;
  partition_key: string;
  available_at: number;
}

/**
 * One consumer's deliveries, kept in its own module database (an event publication registry):
 * a row is written when a message is published and deleted in the transaction that handles or
 * dead-letters it, so a crash at any point leaves the delivery to be resumed at the next start.
 *
 * Which delivery may run next is decided from an in-memory index of those rows (the pending
 * seqs of each partition key, oldest first), not by querying the table after every delivery:
 * that query scanned the whole backlog each time, so a backlog made every message slower. The
 * index is loaded from the rows at subscribe, appended to after an insert commits, and shifted
 * when a delivery settles; the rows stay the durable record, and a row is read by its seq just
 * before it runs, so an index entry whose row is gone is skipped, never delivered. A delivery this
 * process has just inserted skips that read on its first attempt: its envelope is kept from the
 * insert (attempts 0, due now; up to FRESH_ENVELOPES_MAX of them), as no one else can have settled
 * a row only this queue runs (one memory-transport process per database); and as memory.ts
 * inserts it only where the consumer's inbox does not hold the message, it is delivered as
 * `unsettled` (no inbox read before the handler). On PostgreSQL each read was a round trip.
 *
 * Every key of `#lanes` is in exactly one of `#ready`, `#delayed` and `#inFlight`.
 *
 * While the endpoint's flow is paused (a dependency of its handler is down) nothing starts; a
 * delivery that met the outage goes back to the head of `#ready`, its row unchanged (a pause is
 * not an attempt), and the flow's resume pumps again, that delivery first.
 */
export class ConsumerQueue {
  readonly #endpoint: ConsumerEndpoint;
  readonly #log: Logger;
  readonly #row: Statement<[number], DeliveryRow>;
  readonly #remove: Statement<[number]>;
  readonly #reschedule: Statement<[number, number, string, number]>;
  readonly #count: Statement<[string], number>;
  readonly #pending: Statement<[string], PendingRow>;
  /** The envelope of each fresh delivery not yet started, by seq (see the class comment). */
  readonly #fresh = new Map<number, string>();
  /** Pending delivery seqs per partition key, in publish order; the head is the only one that may run. */
  readonly #lanes = new Map<string, number[]>();
  /** Keys whose head may start now. A Set keeps insertion order: keys are served round-robin. */
  readonly #ready = new Set<string>();
  /** Keys whose head waits for a retry, and when it is due. */
  readonly #delayed = new Map<string, number>();
  /** Partition keys with a delivery in flight, and that delivery's promise. */
  readonly #inFlight = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #closed = false;
  /** After a delivery failed outside the handler (its database), nothing starts before this. */
  #pausedUntil = 0;
  /** Stops the endpoint's flow from pumping this queue when it resumes. */
  readonly #stopListening: () => void;

  constructor(endpoint: ConsumerEndpoint, log: Logger) {
    this.#endpoint = endpoint;
    this.#log = log;
    const { database } = endpoint;
    this.#row = database.statement<[number], DeliveryRow>(
      'SELECT envelope, attempts, available_at FROM kernel_deliveries WHERE seq = ?',
    );
    this.#remove = database.statement<[number]>('DELETE FROM kernel_deliveries WHERE seq = ?');
    this.#reschedule = database.statement<[number, number, string, number]>(
      'UPDATE kernel_deliveries SET attempts = ?, available_at = ?, last_error = ? WHERE seq = ?',
    );
    this.#count = database.statement<[string], number>(
      'SELECT COUNT(*) FROM kernel_deliveries WHERE consumer = ?',
      { pluck: true },
    );
    this.#pending = database.statement<[string], PendingRow>(
      'SELECT seq, partition_key, available_at FROM kernel_deliveries WHERE consumer = ? ORDER BY seq',
    );
    this.#stopListening = endpoint.flow?.onResume(() => this.pump()) ?? (() => {});
  }

  /** Indexes the deliveries left by an earlier run (a crash, a stop with a backlog): call it once, first. */
  async resume(): Promise<void> {
    const pending = await this.#pending.all(this.#endpoint.name);
    const now = Date.now();
    for (const { seq, partition_key: key, available_at: at } of pending) {
      const lane = this.#lanes.get(key);
      if (lane) {
        // a delivery appended while the rows were read may be among them, or newer: keep seq order
        if (!lane.includes(seq)) {
          lane.push(seq);
          lane.sort((x, y) => x - y);
        }
        continue;
      }
      this.#lanes.set(key, [seq]);
      if (at > now) this.#delayed.set(key, at);
      else this.#ready.add(key);
    }
  }

  get endpoint(): ConsumerEndpoint {
    return this.#endpoint;
  }

  /**
   * Indexes a delivery row, with its envelope when this process inserted it now (its first attempt
   * then skips reading the row). Call it only after the transaction that inserted the row committed.
   */
  append(key: string, seq: number, envelope?: string): void {
    if (envelope !== undefined && this.#fresh.size < FRESH_ENVELOPES_MAX) this.#fresh.set(seq, envelope);
    const lane = this.#lanes.get(key);
    if (lane) {
      lane.push(seq); // the key's head is already ready, delayed or in flight
      return;
    }
    this.#lanes.set(key, [seq]);
    this.#ready.add(key);
  }

  /** Starts every runnable delivery, up to the endpoint's concurrency, one per partition key. */
  pump(): void {
    if (this.#closed || this.#endpoint.flow?.paused) return; // the flow's resume pumps again
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
    const now = Date.now();
    for (const [key, at] of this.#delayed) {
      if (at > now) continue;
      this.#delayed.delete(key);
      this.#ready.add(key);
    }
    for (const key of this.#ready) {
      if (this.#inFlight.size >= this.#endpoint.concurrency || this.#endpoint.flow?.paused) break;
      this.#ready.delete(key);
      try {
        this.#start(key, now);
      } catch (error) {
        this.#ready.add(key); // its row could not be read: the key stays runnable
        throw error;
      }
    }
    let nextAt = Number.POSITIVE_INFINITY;
    for (const at of this.#delayed.values()) nextAt = Math.min(nextAt, at);
    if (nextAt !== Number.POSITIVE_INFINITY) this.#wakeAt(nextAt);
  }

  async depth(): Promise<number> {
    return (await this.#count.get(this.#endpoint.name)) ?? 0;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stopListening();
    clearTimeout(this.#timer);
    await Promise.all(this.#inFlight.values());
  }

  #start(key: string, now: number): void {
    const seq = this.#lanes.get(key)?.[0];
    if (seq === undefined) return;
    type Next = 'gone' | 'later' | 'settled' | 'retry' | 'first' | 'failed';
    let next: Next = 'failed';
    let retryAt = 0;
    const fresh = this.#fresh.get(seq);
    this.#fresh.delete(seq); // a second attempt reads the row: its attempts and due time changed
    const run = (async (): Promise<Next> => {
      const row =
        fresh !== undefined ? { envelope: fresh, attempts: 0, available_at: 0 } : await this.#row.get(seq);
      // Settled by a delivery whose outcome was lost (its database failed after the commit).
      if (!row) return 'gone';
      if (row.available_at > now) {
        retryAt = row.available_at;
        return 'later';
      }
      const attempt = row.attempts + 1;
      const outcome = await this.#endpoint.deliver(
        row.envelope,
        attempt,
        () => this.#remove.run(seq),
        fresh !== undefined, // inserted only where the consumer's inbox did not hold it (memory.ts)
      );
      // handled, duplicate or dead-lettered: its row went with that commit
      if (!runsAgain(outcome)) return 'settled';
      // not an attempt: its row stays as it is, first in line when the flow resumes
      if (outcome.kind === 'paused') return 'first';
      retryAt = Date.now() + outcome.delayMs;
      if (this.#endpoint.database.isOpen()) {
        // the row counts attempts made: a hold is not one (the next run is `attempts + 1`)
        const attempts = nextAttempt(outcome, attempt) - 1;
        await this.#endpoint.database.transaction(() =>
          this.#reschedule.run(attempts, retryAt, outcome.error, seq),
        );
      }
      return 'retry';
    })();
    const done = (): void => {
      this.#inFlight.delete(key);
      if (next === 'settled' || next === 'gone') this.#shift(key);
      else if (next === 'retry' || next === 'later') this.#delayed.set(key, retryAt);
      else if (next === 'first') this.#first(key);
      else this.#ready.add(key); // unknown whether it settled: #start reads the row again
      this.pump();
    };
    // One `then` for both endings (a delivery's promises are a visible share of its CPU).
    const ended = run.then(
      (outcome) => {
        next = outcome;
        done();
      },
      (error: unknown) => {
        // deliver never throws, but its database can (busy, full): pause, not a hot loop on the row.
        this.#log.error({ err: error, consumer: this.#endpoint.name }, 'delivery failed; consumer paused');
        this.#pausedUntil = Date.now() + PAUSE_ON_FAILURE_MS;
        done();
      },
    );
    this.#inFlight.set(key, ended);
  }

  /** Makes the key the first of the ready keys (a Set iterates in insertion order). */
  #first(key: string): void {
    const others = [...this.#ready];
    this.#ready.clear();
    this.#ready.add(key);
    for (const other of others) this.#ready.add(other);
  }

  /** Drops the key's head; the next delivery of that key becomes runnable. */
  #shift(key: string): void {
    const lane = this.#lanes.get(key);
    lane?.shift();
    if (!lane || lane.length === 0) {
      this.#lanes.delete(key);
      return;
    }
    this.#ready.add(key);
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
