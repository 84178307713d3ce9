/**
 * A RabbitMQ node of a test's own (tests only): its own node name, ports and data directory, so a
 * test can stop and restart it without disturbing other tests that use the shared broker.
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../../../testing/ports.js';

const run = promisify(execFile);
const SBIN_PATH = `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin`;

/** A RabbitMQ node of this test file: its own node name, ports and data directory. */
export class TestRabbit {
  private constructor(
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
    return found ? undefined : 'rabbitmq-server is not installed (needed for a private node to restart)';
  }

  static async start(): Promise<TestRabbit> {
    const [port, distPort] = [await freePort(), await freePort()];
    const node = `modulith-test-${randomUUID().slice(0, 8)}@localhost`;
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
    const rabbit = new TestRabbit(node, port, dir);
    await new Promise<void>((resolve, reject) => {
      const child = spawn('rabbitmq-server', ['-detached'], { env, stdio: 'ignore' });
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`rabbitmq-server exited ${code}`)),
      );
    });
    const deadline = Date.now() + 60_000;
    while (!(await answers(port))) {
      if (Date.now() > deadline) {
        await rabbit.stop();
        throw new Error(
          `private RabbitMQ node ${node} did not open port ${port} within 60 s (logs in ${dir}/log)`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await rabbit.ctl('await_startup');
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

  async stop(): Promise<void> {
    await this.ctl('stop').catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }

  async ctl(...args: string[]): Promise<void> {
    await run('rabbitmqctl', ['-n', this.node, ...args], {
      env: { ...process.env, PATH: SBIN_PATH },
      timeout: 60_000,
    });
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
