/**
 * One e2e run of an app child on one transport: started on first use, then the fixed-rate phase,
 * the maximum phase, and the RSS figures, each read by its own row; closed by the last of them or
 * at the end of the bench. A raw session runs the fastify + better-sqlite3 reference instead.
 */

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestDatabase } from '../../../src/kernel/testing/postgres.js';
import { cleanupNamespace, newNamespace } from '../lib/brokers.js';
import { benchDatabase } from '../lib/databases.js';
import type { BenchOptions } from '../lib/options.js';
import type { Measurement } from '../lib/rows.js';
import { sleep, summarize } from '../lib/stats.js';
import type { Build } from './build.js';
import { Child } from './child.js';
import { HttpClient } from './client.js';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  adminToken,
  closedLoop,
  openLoop,
  type Phase,
  phaseFigures,
  type Shop,
  setUpShop,
  terminalOrders,
} from './load.js';
import { type Instances, startSplit, untilRegistered } from './split.js';

/** An app in one process on a transport, the split deployment (on RabbitMQ), or the raw reference server. */
export type SessionKind = 'memory' | 'bullmq' | 'rabbitmq' | 'split' | 'raw';

/** What a session runs: its kind and, for the split deployment only, instances over deploy/split.json's. */
export type SessionSetup =
  | {
      readonly kind: Exclude<SessionKind, 'split'>;
      /** DB_DURABILITY of the app (default: the app's own, `process`). */
      readonly durability?: 'process' | 'power';
      /** An OpenTelemetry SDK registered in the app (server.ts, BENCH_TRACING); default none. */
      readonly tracing?: BenchTracing;
      /** Every module database in PostgreSQL (DATABASE_URL, a throwaway database); default SQLite. */
      readonly postgres?: boolean;
    }
  | { readonly kind: 'split'; readonly instances?: Instances };

/**
 * `sdk`: a tracer provider that records the kernel's spans and drops them (no processor);
 * `exporter`: one whose batch processor hands them to an in-memory exporter (emptied every second).
 */
export type BenchTracing = 'sdk' | 'exporter';

const instancesOf = (setup: SessionSetup): Instances =>
  setup.kind === 'split' ? (setup.instances ?? {}) : {};

/**
 * A setup's name, unique per setup (the key of the bench's sessions, and the prefix of its data
 * directory and profiles): the kind, then each override, e.g. `split-payments4`.
 */
export const sessionName = (setup: SessionSetup): string =>
  [
    setup.kind,
    ...Object.entries(instancesOf(setup)).map(([name, count]) => `${name}${count}`),
    ...(setup.kind !== 'split' && setup.durability ? [setup.durability] : []),
    ...(setup.kind !== 'split' && setup.tracing ? [`tracing-${setup.tracing}`] : []),
    ...(setup.kind !== 'split' && setup.postgres ? ['postgres'] : []),
  ].join('-');

export interface LoadPlan {
  readonly users: number;
  readonly warmupSeconds: number;
  readonly fixedRate: number;
  readonly fixedSeconds: number;
  readonly maxOrders: number;
  readonly rawMaxRequests: number;
  readonly concurrency: number;
  readonly terminalTimeoutMs: number;
}

/** The split deployment runs on RabbitMQ (deploy/split.json's transport); raw uses no bus. */
const transportOf = (kind: SessionKind) => (kind === 'raw' ? 'memory' : kind === 'split' ? 'rabbitmq' : kind);

const MB = 1024 * 1024;
const mb = (bytes: number) => bytes / MB;

interface Running {
  /** The process the load goes to (the gateway when split). */
  readonly child: Child;
  /** Every process of the app (the one child, or each process of the split deployment). */
  readonly children: readonly Child[];
  readonly client: HttpClient;
  readonly shop: Shop;
  readonly idleRss: number;
}

export class Session {
  readonly kind: SessionKind;
  readonly name: string;
  readonly #instances: Instances;
  readonly #durability: 'process' | 'power' | undefined;
  readonly #tracing: BenchTracing | undefined;
  readonly #postgres: boolean;
  #database: TestDatabase | undefined;
  readonly #plan: LoadPlan;
  readonly #build: () => Build;
  readonly #options: BenchOptions;
  readonly #namespace = newNamespace();
  readonly #dataDir: string;
  #running: Promise<Running> | undefined;
  #maxPeakRss = 0;
  #closed: Promise<void> | undefined;

  constructor(setup: SessionSetup, plan: LoadPlan, build: () => Build, options: BenchOptions) {
    this.kind = setup.kind;
    this.name = sessionName(setup);
    this.#instances = instancesOf(setup);
    this.#durability = setup.kind === 'split' ? undefined : setup.durability;
    this.#tracing = setup.kind === 'split' ? undefined : setup.tracing;
    this.#postgres = setup.kind !== 'split' && setup.postgres === true;
    this.#plan = plan;
    this.#build = build;
    this.#options = options;
    this.#dataDir = mkdtempSync(join(tmpdir(), `bench-e2e-${this.name}-`));
  }

  #start(): Promise<Running> {
    this.#running ??= (async () => {
      const raw = this.kind === 'raw';
      const entry = this.#build().entry(
        raw ? 'scripts/bench/e2e/raw-server.ts' : 'scripts/bench/e2e/server.ts',
      );
      if (this.#postgres) this.#database = await benchDatabase(this.name);
      const split = this.kind === 'split' ? await startSplit(entry, this.#env(), this.#instances) : undefined;
      const children = split?.children ?? [await Child.start(entry, this.#env())];
      const child = children[0] as Child;
      const client = new HttpClient(child.port, 64);
      if (split) await untilRegistered(client, await adminToken(client), split.expected);
      const shop: Shop = raw
        ? { client, admin: '', users: [''], accepted: 0 }
        : await setUpShop(client, this.#plan.users);
      await sleep(1000);
      const idleRss = await child.rss();
      if (!raw && this.#plan.warmupSeconds > 0) {
        await openLoop(shop, this.#plan.fixedRate, this.#plan.warmupSeconds);
        await terminalOrders(shop, this.#plan.terminalTimeoutMs);
      }
      return { child, children, client, shop, idleRss };
    })();
    return this.#running;
  }

  #env(): Record<string, string> {
    return {
      NODE_ENV: 'production',
      DATA_DIR: this.#dataDir,
      TRANSPORT: transportOf(this.kind),
      BUS_NAMESPACE: this.#namespace,
      ADMIN_EMAIL,
      ADMIN_PASSWORD,
      JWT_SECRET: 'bench-secret-0123456789abcdef-0123456789abcdef',
      LOG_LEVEL: 'warn',
      PORT: '0',
      // The load sends each user's orders far faster than a person would: the per-user brake on
      // placing orders (60 a minute by default) is not what is measured.
      ORDERS_PER_USER_PER_MINUTE: '1000000',
      ...(this.#durability ? { DB_DURABILITY: this.#durability } : {}),
      ...(this.#tracing ? { BENCH_TRACING: this.#tracing } : {}),
      ...(this.#database ? { DATABASE_URL: this.#database.url } : {}),
    };
  }

  /**
   * Runs a phase (sending, then waiting for every order to be terminal) and its figures, with the
   * CPU time the app and the load generator used meanwhile; with `--profile`, a CPU profile of the app.
   */
  async #phase(name: string, send: (shop: Shop) => Promise<Phase>, how: string): Promise<Measurement> {
    const { shop, children } = await this.#start();
    const dir = this.#options.profileDir;
    if (dir) {
      mkdirSync(dir, { recursive: true });
      for (const child of children) child.startProfile();
    }
    const before = await cpuMicros(children);
    const benchBefore = process.cpuUsage();
    const t0 = performance.now();
    try {
      const phase = await send(shop);
      const measurement = await this.#figures(shop, phase, how);
      const after = await cpuMicros(children);
      const wallMs = performance.now() - t0;
      const bench = process.cpuUsage(benchBefore);
      const appMs = (after - before) / 1000;
      const share = (ms: number) => `${Math.round((ms / wallMs) * 100)}%`;
      const perItem = `${(appMs / Math.max(1, phase.sent.length)).toFixed(2)} ms app CPU per ${this.kind === 'raw' ? 'request' : 'order'}`;
      const app = children.length > 1 ? `app (${children.length} processes)` : 'app';
      const cpu = `CPU over the phase: ${app} ${share(appMs)}, load generator ${share((bench.user + bench.system) / 1000)} of one core; ${perItem}`;
      return { ...measurement, note: [measurement.note, cpu].filter(Boolean).join('; ') };
    } finally {
      if (dir) {
        for (const [i, child] of children.entries()) {
          const file = join(dir, `${this.name}-${name}${children.length > 1 ? `-${i}` : ''}.cpuprofile`);
          await child.stopProfile(file).catch(() => {});
        }
      }
    }
  }

  /**
   * Orders at a fixed offered rate (open loop). With `--soak`, also the app's heap after a full GC
   * before and after the phase (every process of it), and what it kept per order.
   */
  async fixed(): Promise<Measurement> {
    const { fixedRate, fixedSeconds } = this.#plan;
    const soaking = this.#options.soakSeconds !== undefined && this.kind !== 'raw';
    const { children } = await this.#start();
    const heap = async () =>
      (await Promise.all(children.map((c) => c.heapAfterGc()))).reduce((a, b) => a + b, 0);
    const before = soaking ? await heap() : 0;
    const measurement = await this.#phase(
      'fixed',
      (shop) => openLoop(shop, fixedRate, fixedSeconds),
      `offered ${fixedRate}/s for ${fixedSeconds} s`,
    );
    if (!soaking) return measurement;
    const after = await heap();
    const orders = fixedRate * fixedSeconds;
    const kept = `heap after GC ${mb(before).toFixed(1)} → ${mb(after).toFixed(1)} MB (${Math.round((after - before) / orders)} bytes kept per order)`;
    return { ...measurement, note: [measurement.note, kept].filter(Boolean).join('; ') };
  }

  /** As many orders as the app accepts from `concurrency` closed-loop senders. */
  async max(): Promise<Measurement> {
    const { child } = await this.#start();
    const stopSampling = child.sampleRss(100);
    try {
      const count = this.kind === 'raw' ? this.#plan.rawMaxRequests : this.#plan.maxOrders;
      const { concurrency } = this.#plan;
      return await this.#phase(
        'max',
        (shop) => closedLoop(shop, count, concurrency),
        `${count} sent by ${concurrency} closed-loop senders`,
      );
    } finally {
      stopSampling();
      this.#maxPeakRss = Math.max(child.peakRss, await child.rss().catch(() => 0));
    }
  }

  async #figures(shop: Shop, phase: Phase, how: string): Promise<Measurement> {
    if (this.kind === 'raw') {
      const accept = summarize(phase.accept);
      const seconds = (phase.lastAcceptAt - phase.firstSendAt) / 1000;
      return {
        value: phase.sent.length / seconds,
        unit: 'req/s',
        p50: accept.p50,
        p99: accept.p99,
        note: how,
      };
    }
    const figures = phaseFigures(phase, await terminalOrders(shop, this.#plan.terminalTimeoutMs));
    const note = [
      how,
      `POST 202 p50 ${figures.acceptP50.toFixed(1)} ms, p99 ${figures.acceptP99.toFixed(1)} ms`,
      `accepted ${Math.round(figures.acceptRate)}/s`,
      ...figures.notes,
    ].join('; ');
    return { value: figures.rate, unit: 'orders/s', p50: figures.p50, p99: figures.p99, note };
  }

  async idleRss(): Promise<Measurement> {
    const { idleRss } = await this.#start();
    return { value: mb(idleRss), unit: 'MB', note: 'after start and setup, before load' };
  }

  /** Peak RSS sampled every 100 ms during the maximum phase (run it first). */
  async maxRss(): Promise<Measurement> {
    const { child } = await this.#start();
    const note = this.#maxPeakRss > 0 ? 'peak during the maximum phase' : 'no maximum phase ran: RSS now';
    const peak = this.#maxPeakRss > 0 ? this.#maxPeakRss : await child.rss();
    const warnings = child.warnings;
    await this.close();
    return {
      value: mb(peak),
      unit: 'MB',
      note: warnings > 0 ? `${note}; the app logged ${warnings} warning(s)` : note,
    };
  }

  /** Stops the child, deletes its data directory and its broker namespace. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      const running = await this.#running?.catch(() => undefined);
      running?.client.close();
      await Promise.all((running?.children ?? []).map((child) => child.stop()));
      if (this.kind === 'bullmq' || this.kind === 'rabbitmq' || this.kind === 'split') {
        const consumers = [...new Set(running?.children.flatMap((child) => child.consumers) ?? [])];
        await cleanupNamespace(this.kind === 'split' ? 'rabbitmq' : this.kind, this.#namespace, consumers);
      }
      rmSync(this.#dataDir, { recursive: true, force: true });
      await this.#database?.drop();
    })();
    return this.#closed;
  }
}

/** CPU time (µs) the processes have used so far, together. */
async function cpuMicros(children: readonly Child[]): Promise<number> {
  const usages = await Promise.all(children.map((child) => child.usage()));
  return usages.reduce((sum, usage) => sum + usage.cpuMicros, 0);
}
