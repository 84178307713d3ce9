/** Rows 4 and 5: orders end to end over HTTP on every transport, and the app's memory. */

import { postgresSkipReason } from '../../../src/kernel/testing/postgres.js';
import { type Build, buildChildren } from '../e2e/build.js';
import { type LoadPlan, Session, type SessionKind, type SessionSetup, sessionName } from '../e2e/session.js';
import { describeSplit, type Instances, splitManifest } from '../e2e/split.js';
import { brokerSkipReason } from '../lib/brokers.js';
import { type BenchOptions, scale } from '../lib/options.js';
import type { RowSpec } from '../lib/rows.js';

const E2E = 'End to end over HTTP';
const MEMORY = 'Memory (RSS of the app process)';

export interface E2eRows {
  readonly rows: RowSpec[];
  /** Stops every child still running and removes the build (call once, at the end). */
  close(): Promise<void>;
}

export function e2eRows(options: BenchOptions): E2eRows {
  const plan: LoadPlan = {
    users: scale(options, 20, 2),
    warmupSeconds: scale(options, 2, 0),
    fixedRate: 100,
    fixedSeconds: options.soakSeconds ?? scale(options, 10, 2),
    maxOrders: scale(options, 1000, 150),
    rawMaxRequests: scale(options, 5000, 1000),
    concurrency: scale(options, 32, 16),
    terminalTimeoutMs: scale(options, 180_000, 60_000),
  };
  let build: Build | undefined;
  const getBuild = () => {
    build ??= buildChildren();
    return build;
  };
  const sessions = new Map<string, Session>();
  const session = (setup: SessionSetup) => {
    const name = sessionName(setup);
    let found = sessions.get(name);
    if (!found) {
      found = new Session(setup, plan, getBuild, options);
      sessions.set(name, found);
    }
    return found;
  };
  const timeoutMs = scale(options, 240_000, 90_000);
  const setup =
    `A fresh DATA_DIR and BUS_NAMESPACE; the app built to plain JavaScript (TypeScript transpileModule, as ` +
    `\`npm start\` runs compiled code) in a child process with NODE_ENV=production, LOG_LEVEL=warn, every ` +
    `module, listening on 127.0.0.1 on a free port; the load generator is the bench process (node:http, ` +
    `keep-alive). Setup through the API: admin from ADMIN_EMAIL/ADMIN_PASSWORD, 5 products with 10⁹ in ` +
    `stock, ${plan.users} users (each signs up and logs in from its own loopback address: sign-ups are limited per address) with ` +
    `10¹¹ cents each; every order is one unit of one product, users and products round-robin; ` +
    `${plan.warmupSeconds > 0 ? `${plan.warmupSeconds} s at ${plan.fixedRate}/s of warm-up first` : 'no warm-up'}. Order-to-terminal latency = the order's ` +
    '`updatedAt` (stamped by the app in the transaction that makes it terminal) − the time the bench wrote ' +
    'the POST (same machine clock); completion is detected by polling `GET /analytics/summary` (cheap), ' +
    'then every order is read back with `GET /orders` (page after page). All orders must be terminal, or ' +
    'the row fails. `ORDERS_PER_USER_PER_MINUTE=1000000`: the per-user brake on placing is not measured.';
  const fixedMethod =
    `Open loop: order i sent at t0 + i/${plan.fixedRate} s for ${plan.fixedSeconds} s, whether or not ` +
    'earlier ones were answered. Throughput = orders / (last terminal − first send).';
  const maxMethod =
    `Closed loop: ${plan.concurrency} senders post ${plan.maxOrders} orders as fast as the app answers 202; ` +
    'throughput = orders / (last terminal − first send), i.e. how fast the whole checkout drains. The app ' +
    'accepts orders faster than the saga finishes them, so the latency here includes the time an order ' +
    'waits behind the backlog: it grows with the burst size and is not a service time.';
  const rows: RowSpec[] = [
    {
      id: 'raw-http-100',
      section: E2E,
      label: `raw fastify + better-sqlite3 POST, ${plan.fixedRate}/s`,
      method:
        'fastify 5 alone with a `POST /orders` that validates a body as the app does and runs one ' +
        'transaction (order row + outbox-like row; WAL, NORMAL), no auth, no bus, in a child process ' +
        `like the app's. ${fixedMethod.replace('orders /', 'requests /')} Latency: POST → 202.`,
      timeoutMs,
      run: () => session({ kind: 'raw' }).fixed(),
    },
    {
      id: 'raw-http-max',
      section: E2E,
      label: 'raw fastify + better-sqlite3 POST, maximum',
      method: `The same server; ${plan.concurrency} closed-loop senders, ${plan.rawMaxRequests} requests. Latency: POST → 202.`,
      timeoutMs,
      run: () => session({ kind: 'raw' }).max(),
    },
    ...rssRows('raw', 'raw fastify + better-sqlite3 server', session, timeoutMs, []),
  ];
  /**
   * The fixed-rate and maximum rows of one app setup, each against its raw row. `closeAfterMax`
   * stops the app after its maximum phase when no RSS row follows to do it (the split deployments:
   * their processes must not share the 2 cores with the next rows).
   */
  const loadRows = (
    load: {
      id: string;
      label: string;
      setup: SessionSetup;
      method: string;
      closeAfterMax: boolean;
      /** The row id prefix these rows are a ratio to (default: the raw fastify rows). */
      against?: string;
    },
    skip?: () => Promise<string | undefined>,
  ): RowSpec[] => {
    const common = { section: E2E, timeoutMs, ...(skip ? { skip } : {}) };
    const app = () => session(load.setup);
    return [
      {
        ...common,
        id: `${load.id}-100`,
        label: `${load.label}, ${plan.fixedRate}/s`,
        method: `${load.method} ${fixedMethod}`,
        against: [load.against ? `${load.against}-100` : 'raw-http-100'],
        run: () => app().fixed(),
      },
      {
        ...common,
        id: `${load.id}-max`,
        label: `${load.label}, maximum`,
        method: `${load.method} ${maxMethod}`,
        against: [load.against ? `${load.against}-max` : 'raw-http-max'],
        run: async () => {
          try {
            return await app().max();
          } finally {
            if (load.closeAfterMax) await app().close();
          }
        },
      },
    ];
  };
  for (const kind of ['memory', 'bullmq', 'rabbitmq'] as const) {
    const skip = kind === 'memory' ? undefined : () => brokerSkipReason(kind);
    const label = `orders on ${kind}, one process`;
    rows.push(
      ...loadRows({ id: `e2e-${kind}`, label, setup: { kind }, method: setup, closeAfterMax: false }, skip),
      ...rssRows(kind, `app on ${kind}`, session, timeoutMs, ['rss-raw-idle', 'rss-raw-max'], skip),
    );
  }
  // What a commit survives (DB_DURABILITY): `power` adds an fsync per commit to the memory rows.
  rows.push(
    ...loadRows({
      id: 'e2e-memory-power',
      label: 'orders on memory, one process, DB_DURABILITY=power',
      setup: { kind: 'memory', durability: 'power' },
      method: `${setup} DB_DURABILITY=power (SQLite synchronous=FULL: an fsync per commit).`,
      closeAfterMax: true,
    }),
  );
  // Every module database in PostgreSQL (issue 16): the same load against a local server, the
  // memory transport's deliveries, outboxes and inboxes there too.
  rows.push(
    ...loadRows(
      {
        id: 'e2e-memory-postgres',
        label: 'orders on memory, one process, module databases on PostgreSQL',
        setup: { kind: 'memory', postgres: true },
        against: 'e2e-memory',
        method: `${setup} With DATABASE_URL: every module in its schema of one throwaway database on the local PostgreSQL 15 (TEST_POSTGRES_URL's server), DB_DURABILITY=process (synchronous_commit=off).`,
        closeAfterMax: true,
      },
      postgresSkipReason,
    ),
    // The same with the RabbitMQ transport: deliveries in the broker, outboxes and inboxes in PostgreSQL.
    ...loadRows(
      {
        id: 'e2e-rabbitmq-postgres',
        label: 'orders on rabbitmq, one process, module databases on PostgreSQL',
        setup: { kind: 'rabbitmq', postgres: true },
        against: 'e2e-rabbitmq',
        method: `${setup} TRANSPORT=rabbitmq (its queues deleted after, as \`e2e-rabbitmq\`'s), and with DATABASE_URL: every module in its schema of one throwaway database on the local PostgreSQL 15 (TEST_POSTGRES_URL's server), DB_DURABILITY=process (synchronous_commit=off); the database is dropped after.`,
        closeAfterMax: true,
      },
      async () => (await brokerSkipReason('rabbitmq')) ?? (await postgresSkipReason()),
    ),
  );
  // The kernel's spans (README "Tracing"): an SDK that records them, then one that also batches
  // them to an exporter, against the rows above (no SDK: the API's no-ops).
  for (const tracing of ['sdk', 'exporter'] as const) {
    const what =
      tracing === 'sdk'
        ? 'the OpenTelemetry Node SDK registered, no span processor (spans recorded, then dropped)'
        : 'the OpenTelemetry Node SDK registered with a BatchSpanProcessor into an in-memory exporter (emptied every second)';
    rows.push(
      ...loadRows({
        id: `e2e-memory-tracing-${tracing}`,
        label: `orders on memory, one process, tracing ${tracing === 'sdk' ? 'SDK, no exporter' : 'SDK + exporter'}`,
        setup: { kind: 'memory', tracing },
        against: 'e2e-memory',
        method: `${setup} With ${what}, before the app starts (scripts/bench/e2e/tracing.ts).`,
        closeAfterMax: true,
      }),
    );
  }
  const splitSkip = async () => (await brokerSkipReason('rabbitmq')) ?? (await brokerSkipReason('bullmq'));
  const splitMethod = (instances: Instances) => {
    const file = splitManifest().processes;
    // a variant says what it changes in the file, which stays the deployment the README documents
    const overrides = Object.entries(instances).map(
      ([name, count]) =>
        `; the bench runs ${count} instances of the ${name} entry, the file ${file[name]?.instances}`,
    );
    return (
      `The split deployment of deploy/split.json (${describeSplit(instances)}, each built like the ` +
      `one-process app${overrides.join('')}) on RabbitMQ with the service registry in Redis, one ` +
      'DATA_DIR; the load goes to the gateway, which proxies every module but users. The rest as in ' +
      'the one-process rows.'
    );
  };
  const splits: { id: string; label: string; instances: Instances }[] = [
    { id: 'e2e-split', label: 'orders, split deployment (rabbitmq)', instances: {} },
    {
      id: 'e2e-split-4payments',
      label: 'orders, split deployment (rabbitmq), payments ×4',
      instances: { payments: 4 },
    },
  ];
  for (const { id, label, instances } of splits) {
    const setup = { kind: 'split', instances } as const;
    rows.push(
      ...loadRows({ id, label, setup, method: splitMethod(instances), closeAfterMax: true }, splitSkip),
    );
  }
  return {
    rows,
    async close() {
      for (const found of sessions.values()) await found.close();
      build?.remove();
    },
  };
}

function rssRows(
  kind: Exclude<SessionKind, 'split'>,
  label: string,
  session: (setup: SessionSetup) => Session,
  timeoutMs: number,
  against: readonly string[],
  skip?: () => Promise<string | undefined>,
): RowSpec[] {
  const [idleAgainst, maxAgainst] = against;
  return [
    {
      id: `rss-${kind}-idle`,
      section: MEMORY,
      label: `${label}: RSS idle`,
      method:
        'RSS of the child process (process.memoryUsage.rss over IPC) 1 s after start and setup, before any load.',
      ...(idleAgainst ? { against: [idleAgainst] } : {}),
      lowerIsBetter: true,
      timeoutMs,
      ...(skip ? { skip } : {}),
      run: () => session({ kind }).idleRss(),
    },
    {
      id: `rss-${kind}-max`,
      section: MEMORY,
      label: `${label}: RSS at the maximum`,
      method:
        'Highest RSS of the child sampled every 100 ms during the maximum phase (sending and draining).',
      ...(maxAgainst ? { against: [maxAgainst] } : {}),
      lowerIsBetter: true,
      timeoutMs,
      ...(skip ? { skip } : {}),
      run: () => session({ kind }).maxRss(),
    },
  ];
}
