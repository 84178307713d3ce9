/**
 * A process whose broker does not answer at start waits for it while it serves: start resolves
 * after the short start wait with one warning saying so (after a waiting line per second naming
 * the broker, its URL and its variable), readiness fails naming the broker and its URL (password
 * redacted), nothing is subscribed, and it does not fail after the old 30 s window or at all; a
 * stop ends the wait at once. (That it then works once the broker answers: broker-late.int.spec.ts
 * here, and with real processes test/split.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from 'typebox';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { defineEvent } from '../messaging/message-types.js';
import { on } from '../messaging/subscription.js';
import { createTransport } from '../messaging/transports/index.js';
import { onEveryConsumer } from '../testing/consumer-hook.js';
import { freePort } from '../testing/ports.js';
import { capturingLogger } from '../testing/start-attempt.js';
import { Kernel } from './kernel.js';
import { defineModule } from './module.js';

const pinged = defineEvent({
  type: 'waiter.pinged',
  schema: Type.Object({ n: Type.Integer() }),
  partitionKey: () => 'p',
});
const waiter = defineModule({
  name: 'waiter',
  messages: [pinged],
  subscriptions: [{ consumer: 'waiter.pings', handlers: [on([pinged], () => {})] }],
});

/** The start wait of these tests: far below the 30 s after which a start used to fail. */
const START_WAIT_MS = 1500;

describe('waiting for the broker at start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'broker-wait-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it.each([
    [
      'rabbitmq',
      'AMQP_URL',
      'RabbitMQ',
      (port: number) => ({ AMQP_URL: `amqp://guest:secret@127.0.0.1:${port}` }),
    ],
    ['bullmq', 'REDIS_URL', 'Redis', (port: number) => ({ REDIS_URL: `redis://:secret@127.0.0.1:${port}` })],
  ] as const)(
    '%s: says so, serves without the bus, subscribes nothing, does not fail',
    { timeout: 20_000 },
    async (transportName, variable, broker, urls) => {
      const port = await freePort(); // nothing listens there
      const config = loadConfig(
        {
          TRANSPORT: transportName,
          DATA_DIR: join(dataDir, transportName),
          JWT_SECRET: 'x'.repeat(32),
          ...urls(port),
        },
        ['waiter'],
      );
      const { log, lines } = capturingLogger();
      const subscribed: string[] = [];
      const transport = onEveryConsumer(await createTransport(config, log), (endpoint) =>
        subscribed.push(endpoint.name),
      );
      const kernel = new Kernel({ config, modules: [waiter], transport, log, brokerWaitMs: START_WAIT_MS });
      const fatal: Error[] = [];
      kernel.onFatal((error) => fatal.push(error));
      const startedAt = Date.now();
      try {
        await kernel.start(); // resolves: it does not fail
        const elapsed = Date.now() - startedAt;
        expect(elapsed).toBeGreaterThanOrEqual(START_WAIT_MS - 100);
        expect(elapsed).toBeLessThan(START_WAIT_MS + 2000);

        const waiting = lines.filter((line) => line.msg.startsWith(`waiting for ${broker} at`));
        expect(waiting.length).toBeGreaterThanOrEqual(1);
        expect(waiting.length).toBeLessThanOrEqual(2);
        expect(waiting[0]?.level).toBe(40);
        expect(waiting[0]?.msg).toContain(`127.0.0.1:${port}`);
        expect(waiting[0]?.msg).toContain(variable);
        const serving = lines.filter((line) => line.msg.includes('does not answer yet'));
        expect(serving.map((line) => [line.level, line.msg])).toEqual([
          [
            40,
            `${broker} at ${transportName === 'rabbitmq' ? 'amqp://guest' : 'redis://'}:***@127.0.0.1:${port} ` +
              'does not answer yet: serving without the bus; /health/ready answers 503 until it does',
          ],
        ]);
        expect(lines.filter((line) => line.msg.includes('secret'))).toEqual([]);

        // readiness fails naming the broker and its URL; nothing is subscribed, nothing started
        const health = await kernel.health();
        expect(health.subscriptions?.status).toBe('fail');
        expect(health.subscriptions?.detail).toContain(`waiting for ${broker} at `);
        expect(health.subscriptions?.detail).toContain(`:***@127.0.0.1:${port}`);
        expect(health[`transport:${transportName}`]?.status).toBe('fail');
        expect(health['db:waiter']?.status).toBe('pass');
        expect(subscribed).toEqual([]);
        expect(kernel.started).toBe(false);
        expect(kernel.busState).toBe('waiting');

        // still waiting, still not failing, a while later
        await new Promise((resolve) => setTimeout(resolve, 1500));
        expect(kernel.busState).toBe('waiting');
        expect(subscribed).toEqual([]);
        expect(fatal).toEqual([]);
      } finally {
        const stoppingAt = Date.now();
        await kernel.stop();
        // the background wait ends at once, quietly
        expect(Date.now() - stoppingAt).toBeLessThan(1500);
      }
      expect(fatal).toEqual([]);
      expect(subscribed).toEqual([]);
      expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    },
  );

  it('memory: nothing to wait for', async () => {
    const config = loadConfig({ DATA_DIR: join(dataDir, 'memory') }, ['waiter']);
    const { log, lines } = capturingLogger();
    const kernel = new Kernel({
      config,
      modules: [waiter],
      transport: await createTransport(config, log),
      log,
    });
    await kernel.start();
    expect(kernel.started).toBe(true);
    expect(kernel.busState).toBe('up');
    await kernel.stop();
    expect(lines.filter((line) => /waiting for|does not answer/.test(line.msg))).toEqual([]);
  });
});
