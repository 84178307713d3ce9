/**
 * What the kernel does once it serves without its bus (the broker did not answer within the start
 * wait), on a scripted broker: it subscribes every consumer once the broker answers and only then
 * publishes what waited in the outbox; a broker that goes away again while it subscribes is waited
 * for; a permanent refusal, or a subscribe error while the broker answers (a ConfigError), goes to
 * `onFatal` and starts nothing more. (With real brokers: broker-late.int.spec.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from 'typebox';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import type { Envelope } from '../messaging/envelope.js';
import { defineEvent } from '../messaging/message-types.js';
import { on } from '../messaging/subscription.js';
import type {
  ConsumerEndpoint,
  ConsumerTopology,
  Transport,
  TransportHealth,
} from '../messaging/transport.js';
import { eventually } from '../testing/eventually.js';
import { capturingLogger } from '../testing/start-attempt.js';
import { Kernel } from './kernel.js';
import { defineModule } from './module.js';

/** A RabbitMQ as the test scripts it: down, up, refusing; what was subscribed and published, in order. */
class ScriptedBroker implements Transport {
  readonly name = 'rabbitmq' as const;
  answers = false;
  permanent: Error | undefined;
  /** What the next subscribe throws (once), if anything. */
  subscribeFails: (() => Error) | undefined;
  readonly calls: string[] = [];
  closed = false;

  async publish(messages: readonly Envelope[]): Promise<void> {
    if (!this.answers) throw new Error('not connected');
    for (const message of messages) this.calls.push(`publish ${message.type}`);
  }
  async subscribe(endpoint: ConsumerEndpoint): Promise<void> {
    const failure = this.subscribeFails;
    this.subscribeFails = undefined;
    if (failure) throw failure();
    this.calls.push(`subscribe ${endpoint.name}`);
  }
  async provision(consumers: readonly ConsumerTopology[]): Promise<void> {
    if (!this.answers) throw new Error('not connected');
    for (const consumer of consumers) this.calls.push(`provision ${consumer.name}`);
  }
  async route(): Promise<void> {}
  async redeliver(): Promise<void> {}
  async stats() {
    return [];
  }
  async health(): Promise<TransportHealth> {
    if (this.permanent) return { ok: false, detail: this.permanent.message, permanent: this.permanent };
    return this.answers ? { ok: true } : { ok: false, detail: 'connect ECONNREFUSED' };
  }
  connected(): boolean {
    return this.answers;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const pinged = defineEvent({
  type: 'pinger.pinged',
  schema: Type.Object({ n: Type.Integer() }),
  partitionKey: () => 'p',
});
const pinger = defineModule({
  name: 'pinger',
  messages: [pinged],
  subscriptions: [
    { consumer: 'pinger.first', handlers: [on([pinged], () => {})] },
    { consumer: 'pinger.second', handlers: [on([pinged], () => {})] },
  ],
});

const START_WAIT_MS = 300;

describe('the bus connected after start', () => {
  const dirs: string[] = [];
  const kernels: Kernel[] = [];
  afterEach(async () => {
    for (const kernel of kernels.splice(0)) await kernel.stop();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** A kernel on a scripted broker that does not answer, started (so serving without the bus). */
  async function servingWithoutBus() {
    const dataDir = mkdtempSync(join(tmpdir(), 'bus-connection-'));
    dirs.push(dataDir);
    const config = loadConfig(
      {
        TRANSPORT: 'rabbitmq',
        AMQP_URL: 'amqp://guest:secret@127.0.0.1:5999',
        DATA_DIR: dataDir,
        JWT_SECRET: 'x'.repeat(32),
      },
      ['pinger'],
    );
    const { log, lines } = capturingLogger();
    const broker = new ScriptedBroker();
    const kernel = new Kernel({
      config,
      modules: [pinger],
      transport: broker,
      log,
      brokerWaitMs: START_WAIT_MS,
    });
    kernels.push(kernel);
    const fatal: Error[] = [];
    kernel.onFatal((error) => fatal.push(error));
    await kernel.start();
    expect(kernel.busState).toBe('waiting');
    const context = kernel.modules[0]?.context;
    if (!context) throw new Error('pinger is not running');
    const stage = (n: number) => context.transact((tx) => tx.stage(pinged({ n })));
    return { kernel, broker, fatal, lines, stage };
  }

  it('once the broker answers: every consumer subscribed, then what waited in the outbox published', async () => {
    const { kernel, broker, fatal, stage } = await servingWithoutBus();
    await stage(1);
    expect(await kernel.outboxStats()).toMatchObject([{ module: 'pinger', pending: 1 }]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(broker.calls).toEqual([]);

    broker.answers = true;
    await eventually(
      async () => expect(await kernel.outboxStats()).toMatchObject([{ pending: 0, published: 1 }]),
      {
        timeoutMs: 5000,
      },
    );
    expect(broker.calls).toEqual([
      'subscribe pinger.first',
      'subscribe pinger.second',
      'publish pinger.pinged',
    ]);
    expect(kernel.started).toBe(true);
    expect(kernel.busState).toBe('up');
    expect((await kernel.health()).subscriptions).toEqual({ status: 'pass' });
    expect(fatal).toEqual([]);
  });

  it('a broker that goes away again while the consumers subscribe is waited for', async () => {
    const { kernel, broker, fatal, lines } = await servingWithoutBus();
    broker.subscribeFails = () => {
      broker.answers = false; // the connection drops half-way
      return new Error('RabbitMQ is not connected (connection lost)');
    };
    broker.answers = true;
    await eventually(
      () => expect(lines.some((l) => l.msg.startsWith('subscribing pinger.first failed'))).toBe(true),
      {
        timeoutMs: 5000,
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(kernel.busState).toBe('waiting');
    expect(broker.calls).toEqual([]);
    broker.answers = true;
    await eventually(async () => expect(kernel.started).toBe(true), { timeoutMs: 5000 });
    expect(broker.calls).toEqual(['subscribe pinger.first', 'subscribe pinger.second']);
    expect(fatal).toEqual([]);
  });

  it('a permanent refusal once it answers: onFatal, nothing subscribed or published', async () => {
    const { kernel, broker, fatal, stage } = await servingWithoutBus();
    await stage(1);
    const refused = new ConfigError('AMQP_URL', 'login of user "guest" refused (403 ACCESS_REFUSED)');
    broker.permanent = refused;
    await eventually(async () => expect(fatal).toEqual([refused]), { timeoutMs: 5000 });
    expect(kernel.busState).toBe('failed');
    expect(kernel.started).toBe(false);
    expect((await kernel.health()).subscriptions).toEqual({
      status: 'fail',
      detail: `the bus connection failed: ${refused.message}`,
    });
    // a listener that comes late hears it too
    const late = await new Promise<Error>((resolve) => kernel.onFatal(resolve));
    expect(late).toBe(refused);
    broker.permanent = undefined;
    broker.answers = true;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(broker.calls).toEqual([]);
    expect(await kernel.outboxStats()).toMatchObject([{ pending: 1 }]);
  });

  it('a ConfigError from subscribe while the broker answers (BUS_PARTITIONS): onFatal, no relay started', async () => {
    const { kernel, broker, fatal, stage } = await servingWithoutBus();
    await stage(1);
    const mismatch = new ConfigError('BUS_PARTITIONS', 'is 8, the broker has 4 partitions for pinger.first');
    broker.subscribeFails = () => mismatch;
    broker.answers = true;
    await eventually(async () => expect(fatal).toEqual([mismatch]), { timeoutMs: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(broker.calls).toEqual([]);
    expect(await kernel.outboxStats()).toMatchObject([{ pending: 1 }]);
    expect(kernel.started).toBe(false);
  });

  it('stop during the wait ends it at once: nothing subscribed, no failure, the transport closed', async () => {
    const { kernel, broker, fatal } = await servingWithoutBus();
    const stoppingAt = Date.now();
    await kernel.stop();
    expect(Date.now() - stoppingAt).toBeLessThan(1000);
    expect(kernel.busState).toBe('stopped');
    broker.answers = true;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(broker.calls).toEqual([]);
    expect(broker.closed).toBe(true);
    expect(fatal).toEqual([]);
  });
});
