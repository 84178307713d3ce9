/**
 * A RabbitMQ node of a test's own (its own node name, ports and data directory, beside the shared
 * broker and never touching it), so that stopping or restarting it disturbs no other test. It runs
 * the machine's `rabbitmq-server` (as the rabbitmq user, with that user's Erlang cookie and the
 * shared epmd), with no plugin. `stop()` stops the node and deletes its directory.
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../../../testing/index.js';

const run = promisify(execFile);
const SBIN_PATH = `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin`;
/** How long a node may take to boot: about 10 s alone, several times that when three boot on 2 cores. */
const BOOT_TIMEOUT_MS = 120_000;

export class PrivateRabbit {
  private constructor(
    /** A short name for messages (`a`, `restart`). */
    readonly label: string,
    /** The Erlang node name, `modulith-test-<random>-<label>@localhost`. */
    readonly node: string,
    readonly port: number,
    readonly dir: string,
  ) {}

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  /** Why no private node can be started here, or undefined. */
  static missingReason(): string | undefined {
    const found = SBIN_PATH.split(':').some((dir) => existsSync(join(dir, 'rabbitmq-server')));
    return found ? undefined : 'rabbitmq-server is not installed (needed for a private node)';
  }

  /** Boots a node and waits until it has started; `label` goes into its node name. */
  static async start(label = 'node'): Promise<PrivateRabbit> {
    const [port, distPort] = [await freePort(), await freePort()];
    const node = `modulith-test-${randomUUID().slice(0, 8)}-${label}@localhost`;
    const dir = mkdtempSync(join(tmpdir(), 'modulith-rabbit-'));
    chmodSync(dir, 0o777); // the server runs as the rabbitmq user
    writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
    writeFileSync(join(dir, 'rabbitmq.conf'), `listeners.tcp.1 = 127.0.0.1:${port}\n`);
    const env = {
      ...process.env,
      PATH: SBIN_PATH,
      RABBITMQ_NODENAME: node,
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(dir, 'log'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
      RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    };
    const rabbit = new PrivateRabbit(label, node, port, dir);
    await new Promise<void>((resolve, reject) => {
      const child = spawn('rabbitmq-server', ['-detached'], { env, stdio: 'ignore' });
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`rabbitmq-server exited ${code}`)),
      );
    });
    try {
      const deadline = Date.now() + BOOT_TIMEOUT_MS;
      while (!(await answers(port))) {
        if (Date.now() > deadline) {
          throw new Error(
            `private RabbitMQ node ${node} did not open port ${port} within ${BOOT_TIMEOUT_MS / 1000} s (logs in ${dir}/log)`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      await rabbit.ctl('await_startup');
    } catch (error) {
      await rabbit.stop();
      throw error;
    }
    return rabbit;
  }

  /** The broker restarts: server-side close of every connection, queues recovered from disk. */
  async restart(): Promise<void> {
    await this.ctl('stop_app');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await this.ctl('start_app');
  }

  async stopApp(): Promise<void> {
    await this.ctl('stop_app');
  }

  async startApp(): Promise<void> {
    await this.ctl('start_app');
  }

  /** Stops the node (whatever state it is in) and deletes its directory. */
  async stop(): Promise<void> {
    await this.ctl('stop').catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** `rabbitmqctl -n <node> …args`; resolves with what it printed. */
  async ctl(...args: string[]): Promise<string> {
    const { stdout } = await run('rabbitmqctl', ['-n', this.node, ...args], {
      env: { ...process.env, PATH: SBIN_PATH },
      timeout: 60_000,
    });
    return stdout;
  }
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
