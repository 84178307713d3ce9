/**
 * The deployment of the recovery tests: a broker of the test's own, on free ports (a redis-server
 * or a RabbitMQ node that the test stops and starts again; the shared brokers are never touched),
 * and real processes run from dist/ (test/start/projects.ts `freshDist` builds it when stale):
 *
 *   front       users, orders, inventory, notifications, analytics, webhooks (orders are placed here)
 *   payments-1  ┐ payments: two instances over one payments.db, sharing the partitions
 *   payments-2  ┘
 *
 * SAGA_STEP_TIMEOUT_MS keeps its default (30 s). No service registry and in-memory rate limits,
 * so the broker under test is the only thing its outage takes away; ORDERS_PER_USER_PER_MINUTE is
 * raised, since ten users send the whole stream.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  redisServerMissingReason,
  TestRedis,
} from '../../src/kernel/messaging/transports/bullmq/testing/private-redis.js';
import { PrivateRabbit } from '../../src/kernel/messaging/transports/rabbitmq/testing/private-node.js';
import { Api } from '../split/api.js';
import { freePorts, killGroup, type Proc, startApp, waitForOk } from '../split/cluster.js';

export type Broker = 'bullmq' | 'rabbitmq';
export type ProcessName = 'front' | 'payments-1' | 'payments-2';

const JWT_SECRET = 'recovery-e2e-secret-0123456789abcdef0123456789';
export const ADMIN = { email: 'admin@recovery.test', password: 'recovery-admin-password' };
const READY_TIMEOUT_MS = 60_000;

const MODULES: Record<ProcessName, string> = {
  front: 'users,orders,inventory,notifications,analytics,webhooks',
  'payments-1': 'payments',
  'payments-2': 'payments',
};

/** Why the private broker of `broker` cannot run here, or undefined. */
export function privateBrokerMissing(broker: Broker): string | undefined {
  return broker === 'bullmq' ? redisServerMissingReason() : PrivateRabbit.missingReason();
}

/** The private broker: stopped and started again by the test. */
interface PrivateBroker {
  readonly env: Record<string, string>;
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

async function startBroker(broker: Broker): Promise<PrivateBroker> {
  if (broker === 'bullmq') {
    // AOF fsynced every second: `down()` is a clean SHUTDOWN, which writes everything first
    const redis = await TestRedis.start({ fsync: 'everysec' });
    return {
      env: { REDIS_URL: redis.url },
      down: () => redis.down(),
      up: () => redis.up(),
      stop: () => redis.stop(),
    };
  }
  const rabbit = await PrivateRabbit.start('recovery');
  return {
    env: { AMQP_URL: rabbit.url },
    down: () => rabbit.stopApp(),
    up: () => rabbit.startApp(),
    stop: () => rabbit.stop(),
  };
}

export class RecoveryDeployment {
  readonly #processes = new Map<ProcessName, Proc>();
  readonly #ports: Record<ProcessName, number>;

  private constructor(
    readonly broker: Broker,
    readonly dataDir: string,
    readonly namespace: string,
    readonly privateBroker: PrivateBroker,
    ports: readonly number[],
  ) {
    const [front = 0, one = 0, two = 0] = ports;
    this.#ports = { front, 'payments-1': one, 'payments-2': two };
  }

  static async start(broker: Broker): Promise<RecoveryDeployment> {
    const deployment = new RecoveryDeployment(
      broker,
      mkdtempSync(join(tmpdir(), `recovery-${broker}-`)),
      `recovery-${randomBytes(4).toString('hex')}`,
      await startBroker(broker),
      await freePorts(3),
    );
    // front first: it owns the admin account and the migrations of its modules' databases
    await deployment.run('front');
    await Promise.all([deployment.run('payments-1'), deployment.run('payments-2')]);
    return deployment;
  }

  api(name: ProcessName): Api {
    return new Api(this.url(name));
  }

  url(name: ProcessName): string {
    return `http://127.0.0.1:${this.#ports[name]}`;
  }

  /** Starts (or starts again) a process, and waits until it is ready. */
  async run(name: ProcessName): Promise<void> {
    const proc = startApp(
      name,
      {
        TRANSPORT: this.broker,
        MODULES: MODULES[name],
        PORT: String(this.#ports[name]),
        DATA_DIR: this.dataDir,
        BUS_NAMESPACE: this.namespace,
        JWT_SECRET,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        LOG_LEVEL: process.env.RECOVERY_LOG_LEVEL ?? 'warn',
        SERVICE_REGISTRY: 'off',
        RATE_LIMIT_STORE: 'memory',
        TRUST_PROXY: '127.0.0.1', // each test user logs in from an address of its own
        ORDERS_PER_USER_PER_MINUTE: '100000', // a few users send the whole stream
        ...this.privateBroker.env,
      },
      'dist',
    );
    this.#processes.set(name, proc);
    await waitForOk(`${this.url(name)}/health/ready`, READY_TIMEOUT_MS, proc);
  }

  /** The processes running now (a killed one is left out until it is started again). */
  running(): ProcessName[] {
    return [...this.#processes].filter(([, proc]) => proc.running).map(([name]) => name);
  }

  /** `kill -9` of one process; resolves once it is gone. */
  async kill(name: ProcessName): Promise<void> {
    const proc = this.#processes.get(name);
    if (!proc) throw new Error(`${name} is not running`);
    proc.child.kill('SIGKILL');
    await proc.exited;
  }

  /** The process's own /metrics text. */
  async metrics(name: ProcessName): Promise<string> {
    return (await fetch(`${this.url(name)}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  }

  /** The last lines each process printed (for a failure's message). */
  tails(lines = 30): string {
    return [...this.#processes].map(([name, proc]) => `--- ${name}\n${proc.tail(lines)}`).join('\n');
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.#processes.values()].map((proc) => killGroup(proc)));
    await this.privateBroker.stop();
    if (process.env.RECOVERY_KEEP_DATA !== '1') rmSync(this.dataDir, { recursive: true, force: true });
  }
}
