/**
 * Crash test (DESIGN §5, CONTRACT §5 "Crash"): the real app runs as a child process handling a
 * stream of `POST /entries`; it is killed with SIGKILL at random moments and restarted over the same
 * databases. After the stream stops and the consumers catch up, every message is sorted as lost /
 * duplicated / reordered / fine per consumer (after the checker of Jepsen's RabbitMQ test), and:
 *
 * - every acknowledged (201) entry is in the ledger, and the ledger's outbox holds exactly one event
 *   per ledger row (an event exists iff its state change committed);
 * - every ledger entry has exactly one effect in each consumer, none has an effect without a ledger
 *   row (phantom), and each consumer handled every partition key in publish order;
 * - the chained consumer (`audit.counted`, fed by `tally.entries`' own outbox) is as exact;
 * - the kernel tables are drained: no pending outbox row, no delivery left, no dead letter.
 *
 * The fixture app is test/fixtures/crash-app. Set CRASH_KEEP_DATA=1 to keep the data directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = 'test/fixtures/crash-app/main.ts';

const KILLS = 6;
const TOTAL_ENTRIES = 1500;
const DRIVER_LOOPS = 3;
/** Entries sent per run of the child, so that every run (the last included) takes traffic. */
const ROUND_BUDGET = Math.ceil(TOTAL_ENTRIES / (KILLS + 1));
const KILL_DELAY_MS: readonly [number, number] = [150, 900];
const READY_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 10_000;
const SEND_TIMEOUT_MS = 60_000;
const CATCH_UP_TIMEOUT_MS = 30_000;
const SHUTDOWN_TIMEOUT_MS = 20_000;

const keyOf = (n: number): string => `k${n % 7}`;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const randomBetween = ([min, max]: readonly [number, number]) =>
  min + Math.floor(Math.random() * (max - min + 1));

// ---- the child process ----

interface Child {
  readonly process: ChildProcess;
  readonly port: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Last lines the children printed, and every warning or error they logged (pino level ≥ 40). */
const childOutput: string[] = [];
const childProblems: string[] = [];

function remember(line: string, run: number): void {
  childOutput.push(`[run ${run}] ${line}`);
  if (childOutput.length > 300) childOutput.shift();
  try {
    const entry = JSON.parse(line) as { level?: number };
    if ((entry.level ?? 0) >= 40) childProblems.push(`[run ${run}] ${line}`);
  } catch {
    if (!line.startsWith('READY ')) childProblems.push(`[run ${run}] ${line}`);
  }
}

async function startChild(dataDir: string, run: number): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: 'warn',
      TRANSPORT: 'memory',
      MODULES: 'all',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => remember(line, run));
  const ready = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`child ${run} not READY after ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    );
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      remember(line, run);
      const match = /^READY (\d+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`child ${run} exited before READY (code ${code}, signal ${signal})`));
    });
  });
  try {
    return { process: child, port: await ready, exited };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

async function killHard(child: Child): Promise<void> {
  if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  await child.exited;
}

// ---- the driver ----

/** Open while a child is READY: the driver loops wait here instead of failing while it restarts. */
class Gate {
  #port: number | undefined;
  #waiters: ((port: number) => void)[] = [];

  open(port: number): void {
    this.#port = port;
    for (const resolve of this.#waiters.splice(0)) resolve(port);
  }

  close(): void {
    this.#port = undefined;
  }

  /** Wakes every waiter with port 0 (the driver is stopping). */
  release(): void {
    for (const resolve of this.#waiters.splice(0)) resolve(0);
  }

  wait(): Promise<number> {
    return this.#port === undefined
      ? new Promise((resolve) => this.#waiters.push(resolve))
      : Promise.resolve(this.#port);
  }
}

/** `acked`: answered 201, so committed. `unknown`: no answer (killed mid-request), may have committed. */
type Outcome = 'acked' | 'unknown' | `http ${string}`;

/**
 * Sends entries 0 … TOTAL_ENTRIES - 1, in order, from `DRIVER_LOOPS` concurrent loops, with at most
 * one request of each key in flight: a key's entries then commit one after the other, so that per
 * key the ledger's insertion order is its commit order and its publish order, which the consumers
 * must follow. (SQLite commits one transaction at a time anyway; PostgreSQL commits concurrent ones
 * in any order, and its relay publishes committed rows, whatever order their seqs were taken in.)
 */
class Driver {
  readonly outcomes = new Map<number, Outcome>();
  readonly gate = new Gate();
  #next = 0;
  #roundEnd = 0;
  #roundWaiters: (() => void)[] = [];
  #stopped = false;
  #loops: Promise<void>[] = [];
  /** The request in flight of each key, settled once it is answered or failed. */
  readonly #inFlightByKey = new Map<string, Promise<Outcome>>();

  /** Lets `budget` more entries through, sent by `DRIVER_LOOPS` concurrent loops. */
  nextRound(budget: number): void {
    this.#roundEnd = Math.min(TOTAL_ENTRIES, this.#roundEnd + budget);
    for (const resolve of this.#roundWaiters.splice(0)) resolve();
  }

  start(): void {
    this.#loops = Array.from({ length: DRIVER_LOOPS }, () => this.#loop());
  }

  /** Requests sent and not answered yet. */
  get inFlight(): number {
    return this.#next - this.outcomes.size;
  }

  /** Lets the rest of `TOTAL_ENTRIES` through and waits until every one has been sent. */
  async finish(): Promise<void> {
    this.nextRound(TOTAL_ENTRIES);
    await Promise.all(this.#loops);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const resolve of this.#roundWaiters.splice(0)) resolve();
    this.gate.release();
    await Promise.all(this.#loops);
  }

  async #loop(): Promise<void> {
    for (;;) {
      while (!this.#stopped && this.#next >= this.#roundEnd && this.#roundEnd < TOTAL_ENTRIES) {
        await new Promise<void>((resolve) => this.#roundWaiters.push(resolve));
      }
      if (this.#stopped || this.#next >= TOTAL_ENTRIES) return;
      const port = await this.gate.wait();
      if (this.#stopped || this.#next >= this.#roundEnd) continue;
      const key = keyOf(this.#next);
      const busy = this.#inFlightByKey.get(key);
      if (busy) {
        await busy; // then ask the gate again: the child may have been killed meanwhile
        continue;
      }
      const n = this.#next++;
      const request = post(port, n);
      this.#inFlightByKey.set(key, request);
      const outcome = await request;
      if (this.#inFlightByKey.get(key) === request) this.#inFlightByKey.delete(key);
      this.outcomes.set(n, outcome);
    }
  }
}

async function post(port: number, n: number): Promise<Outcome> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/entries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const body = await response.text();
    if (response.status !== 201) return `http ${response.status}`;
    return (JSON.parse(body) as { n: number }).n === n ? 'acked' : 'http 201 wrong body';
  } catch {
    return 'unknown';
  }
}

// ---- reading the databases ----

interface KernelTables {
  readonly pendingOutbox: number;
  readonly deliveries: number;
  readonly deadLetters: number;
}

interface Snapshot {
  /** ledger_entries in insertion (= outbox, = publish) order. */
  readonly ledger: readonly { seq: number; n: number; key: string }[];
  /** n of every `ledger.entry-recorded` in ledger.db's outbox, with its message id. */
  readonly ledgerEvents: readonly { id: string; n: number }[];
  readonly tallyEffects: readonly { seq: number; message_id: string; n: number; key: string }[];
  readonly tallyEvents: readonly { id: string; n: number }[];
  readonly auditEffects: readonly { seq: number; message_id: string; n: number; key: string }[];
  readonly auditCounted: readonly { seq: number; message_id: string; n: number }[];
  readonly inbox: Readonly<Record<string, number>>;
  readonly kernel: Readonly<Record<string, KernelTables>>;
}

function withDatabase<T>(dataDir: string, module: string, read: (db: Database.Database) => T): T {
  const db = new Database(join(dataDir, `${module}.db`), { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

function kernelTables(db: Database.Database): KernelTables {
  const count = (query: string) => db.prepare<[], number>(query).pluck().get() ?? 0;
  return {
    pendingOutbox: count('SELECT COUNT(*) FROM kernel_outbox WHERE published_at IS NULL'),
    deliveries: count('SELECT COUNT(*) FROM kernel_deliveries'),
    deadLetters: count('SELECT COUNT(*) FROM kernel_dead_letters'),
  };
}

function outboxEvents(db: Database.Database, type: string): { id: string; n: number }[] {
  return db
    .prepare<[string], { id: string; envelope: string }>(
      'SELECT id, envelope FROM kernel_outbox WHERE type = ? ORDER BY seq',
    )
    .all(type)
    .map((row) => ({ id: row.id, n: (JSON.parse(row.envelope) as { data: { n: number } }).data.n }));
}

function inboxCounts(db: Database.Database): Record<string, number> {
  const rows = db
    .prepare<[], { consumer: string; count: number }>(
      'SELECT consumer, COUNT(*) AS count FROM kernel_inbox GROUP BY consumer',
    )
    .all();
  return Object.fromEntries(rows.map((row) => [row.consumer, row.count]));
}

function snapshot(dataDir: string): Snapshot {
  const ledger = withDatabase(dataDir, 'ledger', (db) => ({
    rows: db
      .prepare<[], { seq: number; n: number; key: string }>(
        'SELECT seq, n, key FROM ledger_entries ORDER BY seq',
      )
      .all(),
    events: outboxEvents(db, 'ledger.entry-recorded'),
    kernel: kernelTables(db),
  }));
  const tally = withDatabase(dataDir, 'tally', (db) => ({
    effects: db
      .prepare<[], { seq: number; message_id: string; n: number; key: string }>(
        'SELECT seq, message_id, n, key FROM tally_effects ORDER BY seq',
      )
      .all(),
    events: outboxEvents(db, 'tally.entry-counted'),
    inbox: inboxCounts(db),
    kernel: kernelTables(db),
  }));
  const audit = withDatabase(dataDir, 'audit', (db) => ({
    effects: db
      .prepare<[], { seq: number; message_id: string; n: number; key: string }>(
        'SELECT handled_seq AS seq, message_id, n, key FROM audit_effects ORDER BY handled_seq',
      )
      .all(),
    counted: db
      .prepare<[], { seq: number; message_id: string; n: number }>(
        'SELECT seq, message_id, n FROM audit_counted ORDER BY seq',
      )
      .all(),
    inbox: inboxCounts(db),
    kernel: kernelTables(db),
  }));
  return {
    ledger: ledger.rows,
    ledgerEvents: ledger.events,
    tallyEffects: tally.effects,
    tallyEvents: tally.events,
    auditEffects: audit.effects,
    auditCounted: audit.counted,
    inbox: { ...tally.inbox, ...audit.inbox },
    kernel: { ledger: ledger.kernel, tally: tally.kernel, audit: audit.kernel },
  };
}

/** Messages a dead child left in transit: pending outbox rows and undelivered deliveries. */
function inTransit(dataDir: string): { outbox: number; deliveries: number } {
  const tables = ['ledger', 'tally', 'audit'].map((module) => withDatabase(dataDir, module, kernelTables));
  return {
    outbox: tables.reduce((sum, k) => sum + k.pendingOutbox, 0),
    deliveries: tables.reduce((sum, k) => sum + k.deliveries, 0),
  };
}

function caughtUp(s: Snapshot): boolean {
  const expected = new Set(s.ledger.map((row) => row.n));
  const covers = (rows: readonly { n: number }[]) => new Set(rows.map((row) => row.n)).size >= expected.size;
  return (
    covers(s.tallyEffects) &&
    covers(s.auditEffects) &&
    covers(s.auditCounted) &&
    Object.values(s.kernel).every((k) => k.pendingOutbox === 0 && k.deliveries === 0)
  );
}

// ---- the checker ----

interface Verdict {
  readonly fine: number;
  readonly lost: number[];
  readonly duplicated: number[];
  /** Duplicates whose rows carry the same message id (a redelivery that the inbox let through). */
  readonly duplicatedSameId: number;
  readonly reordered: number[];
  readonly phantom: number[];
}

/**
 * Sorts every expected message of one consumer. `expectedOrder` is the publish order (per key) of
 * the messages it should have handled; `handled` are its effect rows in commit order. A message is
 * reordered when it was handled after a message of the same key published later than it.
 */
function classify(
  expectedOrder: readonly number[],
  handled: readonly { n: number; message_id: string }[],
): Verdict {
  const rank = new Map(expectedOrder.map((n, i) => [n, i]));
  const rows = new Map<number, { n: number; message_id: string }[]>();
  const phantom: number[] = [];
  for (const row of handled) {
    if (!rank.has(row.n)) {
      phantom.push(row.n);
      continue;
    }
    const list = rows.get(row.n) ?? [];
    list.push(row);
    rows.set(row.n, list);
  }
  const reordered = new Set<number>();
  const latestRankByKey = new Map<string, number>();
  for (const row of handled) {
    const r = rank.get(row.n);
    if (r === undefined || rows.get(row.n)?.[0] !== row) continue; // first effect of each n only
    const key = keyOf(row.n);
    const latest = latestRankByKey.get(key) ?? -1;
    if (r < latest) reordered.add(row.n);
    else latestRankByKey.set(key, r);
  }
  const lost: number[] = [];
  const duplicated: number[] = [];
  let duplicatedSameId = 0;
  let fine = 0;
  for (const n of expectedOrder) {
    const effects = rows.get(n) ?? [];
    if (effects.length === 0) lost.push(n);
    else if (effects.length > 1) {
      duplicated.push(n);
      if (new Set(effects.map((e) => e.message_id)).size === 1) duplicatedSameId++;
    } else if (!reordered.has(n)) fine++;
  }
  return { fine, lost, duplicated, duplicatedSameId, reordered: [...reordered], phantom };
}

/** The first occurrence of each n, in row order. */
function firstOccurrences(rows: readonly { n: number }[]): number[] {
  return [...new Set(rows.map((row) => row.n))];
}

function duplicatesOf(values: readonly number[]): number[] {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].filter(([, count]) => count > 1).map(([v]) => v);
}

const head = (values: readonly number[]) =>
  values.length === 0 ? '' : ` [${values.slice(0, 10).join(', ')}${values.length > 10 ? ', …' : ''}]`;

// ---- the test ----

describe('crash: kill -9 under load, restart, check every message', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'crash-e2e-'));
  let child: Child | undefined;
  let passed = false;

  afterAll(async () => {
    if (child) await killHard(child);
    if (passed && !process.env.CRASH_KEEP_DATA) rmSync(dataDir, { recursive: true, force: true });
    else console.log(`crash test data kept in ${dataDir}`);
    if (!passed) console.log(`last child output:\n${childOutput.slice(-60).join('\n')}`);
  });

  it(`delivers every committed event exactly once in effect, in order, across ${KILLS} kill -9s`, {
    timeout: 180_000,
  }, async () => {
    const startedAt = Date.now();
    const driver = new Driver();
    const kills: string[] = [];
    let run = 1;
    try {
      child = await startChild(dataDir, run);
      driver.gate.open(child.port);
      driver.nextRound(ROUND_BUDGET);
      driver.start();

      for (let kill = 1; kill <= KILLS; kill++) {
        const delay = randomBetween(KILL_DELAY_MS);
        await sleep(delay);
        driver.gate.close();
        const inFlight = driver.inFlight;
        await killHard(child);
        const left = inTransit(dataDir);
        kills.push(
          `#${kill} at ${delay} ms: ${inFlight} requests in flight, ${left.outbox} pending outbox, ${left.deliveries} deliveries`,
        );
        run++;
        child = await startChild(dataDir, run);
        driver.gate.open(child.port);
        driver.nextRound(ROUND_BUDGET);
      }
      // The last run takes the rest of the stream; then sending stops.
      const streamFinished = await Promise.race([
        driver.finish().then(() => true),
        sleep(SEND_TIMEOUT_MS).then(() => false),
      ]);
      if (!streamFinished) await driver.stop();
      const sendingDoneAt = Date.now();

      const deadline = Date.now() + CATCH_UP_TIMEOUT_MS;
      let s = snapshot(dataDir);
      while (!caughtUp(s) && Date.now() < deadline) {
        await sleep(100);
        s = snapshot(dataDir);
      }
      const caughtUpAfterMs = Date.now() - sendingDoneAt;

      child.process.kill('SIGTERM');
      const exit = await Promise.race([
        child.exited,
        sleep(SHUTDOWN_TIMEOUT_MS).then(() => ({ code: null, signal: 'no exit after SIGTERM' })),
      ]);
      await killHard(child);
      child = undefined;

      // The final state, with every database closed by its owner.
      s = snapshot(dataDir);
      const outcomes = [...driver.outcomes];
      const acked = outcomes.filter(([, o]) => o === 'acked').map(([n]) => n);
      const unknown = outcomes.filter(([, o]) => o === 'unknown').map(([n]) => n);
      const httpErrors = outcomes.filter(([, o]) => o !== 'acked' && o !== 'unknown');
      const ledgerNs = new Set(s.ledger.map((row) => row.n));
      const ledgerOrder = s.ledger.map((row) => row.n);
      const ackedLost = acked.filter((n) => !ledgerNs.has(n));
      const neverSent = s.ledger.map((row) => row.n).filter((n) => !driver.outcomes.has(n));
      const ledgerDuplicates = duplicatesOf(ledgerOrder);
      const unknownCommitted = unknown.filter((n) => ledgerNs.has(n)).length;

      // Outbox: exactly one event per committed state change, and none without one.
      const ledgerEventNs = s.ledgerEvents.map((e) => e.n);
      const tallyEventNs = s.tallyEvents.map((e) => e.n);
      const tallyNs = new Set(s.tallyEffects.map((row) => row.n));
      const ledgerEventsMissing = ledgerOrder.filter((n) => !ledgerEventNs.includes(n));
      const ledgerEventsExtra = ledgerEventNs.filter((n) => !ledgerNs.has(n));
      const tallyEventsMissing = [...tallyNs].filter((n) => !tallyEventNs.includes(n));
      const tallyEventsExtra = tallyEventNs.filter((n) => !tallyNs.has(n));
      // Every effect carries the id of the one event staged for its n.
      const eventIdOf = new Map(s.ledgerEvents.map((e) => [e.n, e.id]));
      const countedIdOf = new Map(s.tallyEvents.map((e) => [e.n, e.id]));
      const wrongIds = [
        ...s.tallyEffects.filter((row) => eventIdOf.get(row.n) !== row.message_id),
        ...s.auditEffects.filter((row) => eventIdOf.get(row.n) !== row.message_id),
        ...s.auditCounted.filter((row) => countedIdOf.get(row.n) !== row.message_id),
      ].map((row) => row.n);

      const verdicts: Record<string, Verdict> = {
        'tally.entries': classify(ledgerOrder, s.tallyEffects),
        'audit.entries': classify(ledgerOrder, s.auditEffects),
        // Chained: published by tally.entries in its own commit order, which is the expected order.
        'audit.counted': classify(
          [
            ...firstOccurrences(s.tallyEffects),
            ...ledgerOrder.filter((n) => !tallyNs.has(n)), // lost upstream: lost here too
          ],
          s.auditCounted,
        ),
      };

      const lines = [
        `crash test: ${KILLS} kills`,
        ...kills.map((kill) => `  ${kill}`),
        `  ${driver.outcomes.size} sent: ${acked.length} acked, ${unknown.length} unknown (${unknownCommitted} of them committed), ${httpErrors.length} http errors`,
        `  ledger: ${s.ledger.length} entries, ${ackedLost.length} acked-but-lost${head(ackedLost)}, ${ledgerDuplicates.length} duplicated, ${neverSent.length} never sent; outbox events ${s.ledgerEvents.length} (missing ${ledgerEventsMissing.length}, extra ${ledgerEventsExtra.length})`,
        `  caught up ${caughtUpAfterMs} ms after the stream stopped; SIGTERM exit ${exit.code ?? exit.signal}; total ${Date.now() - startedAt} ms`,
        '',
        `  ${'consumer'.padEnd(14)} ${'fine'.padStart(6)} ${'lost'.padStart(6)} ${'dup'.padStart(6)} ${'reord'.padStart(6)} ${'phantom'.padStart(8)} ${'inbox'.padStart(6)}`,
        ...Object.entries(verdicts).map(
          ([consumer, v]) =>
            `  ${consumer.padEnd(14)} ${String(v.fine).padStart(6)} ${String(v.lost.length).padStart(6)} ${String(v.duplicated.length).padStart(6)} ${String(v.reordered.length).padStart(6)} ${String(v.phantom.length).padStart(8)} ${String(s.inbox[consumer] ?? 0).padStart(6)}` +
            `${head(v.lost)}${head(v.duplicated)}${head(v.reordered)}${head(v.phantom)}`,
        ),
        '',
        ...Object.entries(s.kernel).map(
          ([module, k]) =>
            `  ${module}.db: pending outbox ${k.pendingOutbox}, deliveries ${k.deliveries}, dead letters ${k.deadLetters}`,
        ),
        `  child warnings/errors logged: ${childProblems.length}`,
      ];
      console.log(lines.join('\n'));
      if (childProblems.length > 0) console.log(childProblems.slice(0, 20).join('\n'));

      expect(kills).toHaveLength(KILLS);
      expect(streamFinished, `stream stalled: ${driver.outcomes.size} of ${TOTAL_ENTRIES} answered`).toBe(
        true,
      );
      expect(exit).toEqual({ code: 0, signal: null });
      expect(httpErrors, 'non-201 answers').toEqual([]);
      expect(driver.outcomes.size).toBe(TOTAL_ENTRIES);
      // Only the requests in flight when a child died may go unanswered.
      expect(unknown.length, 'requests without an answer').toBeLessThanOrEqual(KILLS * DRIVER_LOOPS);
      expect(ackedLost, 'acknowledged entries missing from the ledger').toEqual([]);
      expect(ledgerDuplicates, 'entries recorded twice').toEqual([]);
      expect(neverSent, 'ledger entries nobody sent').toEqual([]);
      expect(ledgerEventsMissing, 'ledger rows without their event').toEqual([]);
      expect(ledgerEventsExtra, 'events without their ledger row').toEqual([]);
      expect(duplicatesOf(ledgerEventNs), 'ledger events staged twice').toEqual([]);
      expect(tallyEventsMissing, 'tally effects without their event').toEqual([]);
      expect(tallyEventsExtra, 'tally events without their effect').toEqual([]);
      expect(duplicatesOf(tallyEventNs), 'tally events staged twice').toEqual([]);
      expect(wrongIds, 'effects carrying another message id').toEqual([]);
      for (const [consumer, v] of Object.entries(verdicts)) {
        expect(
          { consumer, lost: v.lost, duplicated: v.duplicated, reordered: v.reordered, phantom: v.phantom },
          `${consumer} (duplicates with the same message id: ${v.duplicatedSameId})`,
        ).toEqual({ consumer, lost: [], duplicated: [], reordered: [], phantom: [] });
        expect(v.fine).toBe(s.ledger.length);
        expect(s.inbox[consumer], `${consumer} inbox rows`).toBe(s.ledger.length);
      }
      for (const [module, k] of Object.entries(s.kernel)) {
        expect({ module, ...k }, `${module}.db kernel tables drained`).toEqual({
          module,
          pendingOutbox: 0,
          deliveries: 0,
          deadLetters: 0,
        });
      }
      passed = true;
    } finally {
      await driver.stop();
      if (child) await killHard(child);
      child = undefined;
    }
  });
});
