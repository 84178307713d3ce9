/**
 * A process waits for its broker at start, with a warning line per second naming the broker and
 * its URL, and fails with a ConfigError naming AMQP_URL or REDIS_URL after the retry window.
 * (That it then works once the broker comes up is shown with real processes in test/split.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { createTransport } from '../messaging/transports/index.js';
import { Kernel } from './kernel.js';

/** A loopback port where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function capturingLogger(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

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
    ['bullmq', 'REDIS_URL', 'Redis', (port: number) => ({ REDIS_URL: `redis://127.0.0.1:${port}` })],
  ] as const)(
    '%s: logs a line per retry, then fails naming %s',
    {
      timeout: 20_000,
    },
    async (transport, variable, broker, urls) => {
      const port = await closedPort();
      const config = loadConfig(
        { TRANSPORT: transport, DATA_DIR: dataDir, JWT_SECRET: 'x'.repeat(32), ...urls(port) },
        [],
      );
      const { log, lines } = capturingLogger();
      const kernel = new Kernel({
        config,
        modules: [],
        transport: await createTransport(config, log),
        log,
        brokerWaitMs: 2500,
      });
      const startedAt = Date.now();
      const error = await kernel.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      await kernel.stop();
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe(variable);
      expect((error as ConfigError).message).toContain(`127.0.0.1:${port}`);
      expect((error as ConfigError).message).not.toContain('secret');
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2400);
      const waiting = lines
        .map((line) => JSON.parse(line) as { level: number; msg: string })
        .filter((entry) => entry.msg.startsWith(`waiting for ${broker} at`));
      expect(waiting.length).toBeGreaterThanOrEqual(1);
      expect(waiting.length).toBeLessThanOrEqual(3);
      expect(waiting[0]?.level).toBe(40);
      expect(waiting[0]?.msg).toContain(`127.0.0.1:${port}`);
      expect(waiting[0]?.msg).toContain(variable);
    },
  );

  it('memory: nothing to wait for', async () => {
    const config = loadConfig({ DATA_DIR: dataDir }, []);
    const { log, lines } = capturingLogger();
    const kernel = new Kernel({ config, modules: [], transport: await createTransport(config, log), log });
    await kernel.start();
    await kernel.stop();
    expect(lines.filter((line) => line.includes('waiting for'))).toEqual([]);
  });
});
