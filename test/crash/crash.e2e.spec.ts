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
 * The same suite runs on each backend (`backends` below), with the same checks: every module
 * database on SQLite (`<module>.db` files in the data directory), then every one on PostgreSQL
 * (DATABASE_URL: each module in its schema of a throwaway database, kernel tables included;
 * skipped with the reason when PostgreSQL does not answer, failing under REQUIRE_BROKERS=1). The
 * checks read the databases directly, through a `Store` each backend gives.
 *
 * The fixture app is test/fixtures/crash-app. Set CRASH_KEEP_DATA=1 to keep the data directory and
 * the PostgreSQL database (dropped otherwise, even after a failure: the server is shared).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endPool } from '../../src/kernel/persistence/postgres.js';
import { createTestDatabase, databaseExists, describeWithPostgres } from '../../src/kernel/testing/index.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = 'test/fixtures/crash-app/main.ts';

/** How hard a backend is pushed: kills, and entries sent over all the runs of the child. */
interface Plan {
  readonly kills: number;
  readonly totalEntries: number;
}

const DRIVER_LOOPS = 3;
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

/** The last lines one suite's children printed, and every warning or error they logged (pino level ≥ 40). */
class ChildLog {
  readonly output: string[] = [];
  readonly problems: string[] = [];

  remember(line: string, run: number): void {
    this.output.push(`[run ${run}] ${line}`);
    if (this.output.length > 300) this.output.shift();
    try {
      const entry = JSON.parse(line) as { level?: number };
      if ((entry.level ?? 0) >= 40) this.problems.push(`[run ${run}] ${line}`);
    } catch {
      if (!line.startsWith('READY ')) this.problems.push(`[run ${run}] ${line}`);
    }
  }
}

/** This process's environment without DATABASE_URL(_<MODULE>): the store alone says where databases go. */
const inheritedEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('DATABASE_URL')));

async function startChild(
  dataDir: string,
  storeEnv: Readonly<Record<string, string>>,
  log: ChildLog,
  run: number,
): Promise<Child> {
  const remember = (line: string) => log.remember(line, run);
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    cwd: PROJECT_ROOT,
    env: {
      ...inheritedEnv(),
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: 'warn',
      TRANSPORT: 'memory',
      MODULES: 'all',
      ...storeEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', remember);
  const ready = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`child ${run} not READY after ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    );
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      remember(line);
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
 * Sends entries 0 … total - 1, in order, from `DRIVER_LOOPS` concurrent loops, with at most one
 * request of each key in flight: a key's entries then commit one after the other, so that per key
 * the ledger's insertion order is its commit order and its publish order, which the consumers must
 * follow. (SQLite commits one transaction at a time anyway; PostgreSQL commits concurrent ones in
 * any order, and its relay publishes committed rows, whatever order their seqs were taken in.)
 */
class Driver {
  readonly outcomes = new Map<number, Outcome>();
  readonly gate = new Gate();
  readonly #total: number;
  #next = 0;
  #roundEnd = 0;
  #roundWaiters: (() => void)[] = [];
  #stopped = false;
  #loops: Promise<void>[] = [];
  /** The request in flight of each key, settled once it is answered or failed. */
  readonly #inFlightByKey = new Map<string, Promise<Outcome>>();

  constructor(total: number) {
    this.#total = total;
  }

  /** Lets `budget` more entries through, sent by `DRIVER_LOOPS` concurrent loops. */
  nextRound(budget: number): void {
    this.#roundEnd = Math.min(this.#total, this.#roundEnd + budget);
    for (const resolve of this.#roundWaiters.splice(0)) resolve();
  }

  start(): void {
    this.#loops = Array.from({ length: DRIVER_LOOPS }, () => this.#loop());
  }

  /** Requests sent and not answered yet. */
  get inFlight(): number {
    return this.#next - this.outcomes.size;
  }

  /** Lets the rest of the entries through and waits until every one has been sent. */
  async finish(): Promise<void> {
    this.nextRound(this.#total);
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
      while (!this.#stopped && this.#next >= this.#roundEnd && this.#roundEnd < this.#total) {
        await new Promise<void>((resolve) => this.#roundWaiters.push(resolve));
      }
      if (this.#stopped || this.#next >= this.#total) return;
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

/** One module's database as the checks read it: the same SQL on both backends. */
interface ModuleReader {
  /** One of the module's tables, as this backend names it (`"ledger".kernel_outbox` on PostgreSQL). */
  table(name: string): string;
  /** The rows one query reads (`?` placeholders). */
  rows<Row>(text: string, ...params: unknown[]): Promise<Row[]>;
}

/** Where a suite's children keep the module databases, and how its checks read them. */
interface Store {
  /** What the children's environment adds to place their databases. */
  readonly env: Readonly<Record<string, string>>;
  read<T>(module: string, fn: (db: ModuleReader) => Promise<T>): Promise<T>;
  /** Once the children are gone: closes what reading opened, and deletes the databases unless `keep`. */
  close(keep: boolean): Promise<void>;
}

interface Backend {
  readonly name: string;
  readonly plan: Plan;
  /** A store for one suite; `dataDir` is the children's DATA_DIR. */
  open(dataDir: string): Promise<Store>;
}

/** `<module>.db` in the data directory, each read on a read-only connection of its own. */
async function sqliteStore(dataDir: string): Promise<Store> {
  return {
    env: {},
    read: async (module, fn) => {
      const db = new Database(join(dataDir, `${module}.db`), { readonly: true, fileMustExist: true });
      try {
        return await fn({
          table: (name) => name,
          rows: async <Row>(text: string, ...params: unknown[]) => db.prepare(text).all(...params) as Row[],
        });
      } finally {
        db.close();
      }
    },
    close: async () => {}, // the files are in the data directory
  };
}

const INT8_OID = 20;
/** COUNT(*) is a bigint: read it as a number, as the kernel's pools do. */
const int8AsNumber = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * Every module in its schema of a throwaway database (DATABASE_URL), read over a pool of the
 * test's own, each table named with its schema. Dropped at the end (checked), unless kept.
 */
async function postgresStore(): Promise<Store> {
  const database = await createTestDatabase('crash');
  const pool = new pg.Pool({ connectionString: database.url, max: 2, types: int8AsNumber });
  pool.on('error', () => {}); // an idle client's lost connection: the next query reports it
  return {
    env: { DATABASE_URL: database.url },
    read: (module, fn) =>
      fn({
        table: (name) => `"${module}".${name}`,
        rows: async <Row>(text: string, ...params: unknown[]) => {
          let placeholder = 0;
          const numbered = text.replaceAll('?', () => `$${++placeholder}`);
          return (await pool.query(numbered, params)).rows as Row[];
        },
      }),
    close: async (keep) => {
      await endPool(pool);
      if (keep) {
        console.log(`crash test database kept: ${database.url}`);
        return;
      }
      await database.drop();
      expect(await databaseExists(database.name), `${database.name} left behind`).toBe(false);
    },
  };
}

interface KernelTables {
  readonly pendingOutbox: number;
  readonly deliveries: number;
  readonly deadLetters: number;
}

interface Snapshot {
  /** ledger_entries in insertion (= outbox, = publish: per key on PostgreSQL) order. */
  readonly ledger: readonly { seq: number; n: number; key: string }[];
  /** n of every `ledger.entry-recorded` in the ledger's outbox, with its message id. */
  readonly ledgerEvents: readonly { id: string; n: number }[];
  readonly tallyEffects: readonly { seq: number; message_id: string; n: number; key: string }[];
  readonly tallyEvents: readonly { id: string; n: number }[];
  readonly auditEffects: readonly { seq: number; message_id: string; n: number; key: string }[];
  readonly auditCounted: readonly { seq: number; message_id: string; n: number }[];
  readonly inbox: Readonly<Record<string, number>>;
  readonly kernel: Readonly<Record<string, KernelTables>>;
}

const MODULES = ['ledger', 'tally', 'audit'] as const;

async function kernelTables(db: ModuleReader): Promise<KernelTables> {
  const count = async (table: string, where = '') =>
    (await db.rows<{ count: number }>(`SELECT COUNT(*) AS count FROM ${db.table(table)} ${where}`))[0]
      ?.count ?? 0;
  return {
    pendingOutbox: await count('kernel_outbox', 'WHERE published_at IS NULL'),
    deliveries: await count('kernel_deliveries'),
    deadLetters: await count('kernel_dead_letters'),
  };
}

async function outboxEvents(db: ModuleReader, type: string): Promise<{ id: string; n: number }[]> {
  const rows = await db.rows<{ id: string; envelope: string }>(
    `SELECT id, envelope FROM ${db.table('kernel_outbox')} WHERE type = ? ORDER BY seq`,
    type,
  );
  return rows.map((row) => ({ id: row.id, n: (JSON.parse(row.envelope) as { data: { n: number } }).data.n }));
}

async function inboxCounts(db: ModuleReader): Promise<Record<string, number>> {
  const rows = await db.rows<{ consumer: string; count: number }>(
    `SELECT consumer, COUNT(*) AS count FROM ${db.table('kernel_inbox')} GROUP BY consumer`,
  );
  return Object.fromEntries(rows.map((row) => [row.consumer, row.count]));
}

async function snapshot(store: Store): Promise<Snapshot> {
  const ledger = await store.read('ledger', async (db) => ({
    rows: await db.rows<{ seq: number; n: number; key: string }>(
      `SELECT seq, n, key FROM ${db.table('ledger_entries')} ORDER BY seq`,
    ),
    events: await outboxEvents(db, 'ledger.entry-recorded'),
    kernel: await kernelTables(db),
  }));
  const tally = await store.read('tally', async (db) => ({
    effects: await db.rows<{ seq: number; message_id: string; n: number; key: string }>(
      `SELECT seq, message_id, n, key FROM ${db.table('tally_effects')} ORDER BY seq`,
    ),
    events: await outboxEvents(db, 'tally.entry-counted'),
    inbox: await inboxCounts(db),
    kernel: await kernelTables(db),
  }));
  const audit = await store.read('audit', async (db) => ({
    effects: await db.rows<{ seq: number; message_id: string; n: number; key: string }>(
      `SELECT handled_seq AS seq, message_id, n, key FROM ${db.table('audit_effects')} ORDER BY handled_seq`,
    ),
    counted: await db.rows<{ seq: number; message_id: string; n: number }>(
      `SELECT seq, message_id, n FROM ${db.table('audit_counted')} ORDER BY seq`,
    ),
    inbox: await inboxCounts(db),
    kernel: await kernelTables(db),
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
async function inTransit(store: Store): Promise<{ outbox: number; deliveries: number }> {
  const tables = await Promise.all(MODULES.map((module) => store.read(module, kernelTables)));
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

/**
 * The crash test's one description, run per backend: registers its hooks and its test in the
 * enclosing describe.
 */
function crashSuite(backend: Backend): void {
  const { kills: KILLS, totalEntries: TOTAL_ENTRIES } = backend.plan;
  /** Entries sent per run of the child, so that every run (the last included) takes traffic. */
  const ROUND_BUDGET = Math.ceil(TOTAL_ENTRIES / (KILLS + 1));
  const log = new ChildLog();
  let dataDir: string | undefined;
  let store: Store | undefined;
  let child: Child | undefined;
  let passed = false;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'crash-e2e-'));
    store = await backend.open(dataDir);
  });

  afterAll(async () => {
    if (child) await killHard(child);
    const keep = Boolean(process.env.CRASH_KEEP_DATA);
    if (!passed) console.log(`last child output:\n${log.output.slice(-60).join('\n')}`);
    if (dataDir !== undefined) {
      if (passed && !keep) rmSync(dataDir, { recursive: true, force: true });
      else console.log(`crash test data kept in ${dataDir}`);
    }
    await store?.close(keep);
  });

  it(`delivers every committed event exactly once in effect, in order, across ${KILLS} kill -9s`, {
    timeout: 180_000,
  }, async () => {
    if (dataDir === undefined || store === undefined) throw new Error('the store did not open');
    const startedAt = Date.now();
    const driver = new Driver(TOTAL_ENTRIES);
    const kills: string[] = [];
    let run = 1;
    const start = () => startChild(dataDir as string, (store as Store).env, log, run);
    try {
      child = await start();
      driver.gate.open(child.port);
      driver.nextRound(ROUND_BUDGET);
      driver.start();

      for (let kill = 1; kill <= KILLS; kill++) {
        const delay = randomBetween(KILL_DELAY_MS);
        await sleep(delay);
        driver.gate.close();
        const inFlight = driver.inFlight;
        await killHard(child);
        const left = await inTransit(store);
        kills.push(
          `#${kill} at ${delay} ms: ${inFlight} requests in flight, ${left.outbox} pending outbox, ${left.deliveries} deliveries`,
        );
        run++;
        child = await start();
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
      let s = await snapshot(store);
      while (!caughtUp(s) && Date.now() < deadline) {
        await sleep(100);
        s = await snapshot(store);
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
      s = await snapshot(store);
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
        `crash test on ${backend.name}: ${KILLS} kills`,
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
            `  ${module}: pending outbox ${k.pendingOutbox}, deliveries ${k.deliveries}, dead letters ${k.deadLetters}`,
        ),
        `  child warnings/errors logged: ${log.problems.length}`,
      ];
      console.log(lines.join('\n'));
      if (log.problems.length > 0) console.log(log.problems.slice(0, 20).join('\n'));

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
        expect({ module, ...k }, `${module} kernel tables drained`).toEqual({
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
}

const TITLE = 'crash: kill -9 under load, restart, check every message';

/** Each backend the suite runs on, and how hard: the same checks on every one. */
const backends = {
  sqlite: { name: 'SQLite', plan: { kills: 6, totalEntries: 1500 }, open: sqliteStore },
  postgres: { name: 'PostgreSQL', plan: { kills: 6, totalEntries: 1500 }, open: () => postgresStore() },
} satisfies Record<string, Backend>;

describe(`${TITLE}, every module database on SQLite`, () => crashSuite(backends.sqlite));
await describeWithPostgres(`${TITLE}, every module database on PostgreSQL`, () =>
  crashSuite(backends.postgres),
);
