/**
 * A RabbitMQ that refuses this process for good (wrong password, missing vhost, a URL amqplib
 * cannot use) fails start at once with the broker's reason, naming AMQP_URL, instead of being
 * waited for as an outage. On the shared broker: a refused login creates nothing there.
 * (That an unreachable broker is still waited for: broker-wait.int.spec.ts.)
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config.js';
import { createRabbitMqTransport } from '../messaging/transports/rabbitmq/rabbitmq.js';
import { createLogger } from '../observability/logger.js';
import { amqpSkipReason, amqpUrl, eventually } from '../testing/index.js';
import { attemptStart, capturingLogger } from '../testing/start-attempt.js';

const skip = await amqpSkipReason();
if (skip && process.env.REQUIRE_BROKERS !== '1') console.warn(`[rabbitmq refusals] skipped: ${skip}`);

/** AMQP_URL with its password, path or query replaced. */
function amqp(change: (url: URL) => void): string {
  const url = new URL(amqpUrl);
  change(url);
  return url.toString();
}

/** Within the start's wait for the broker: the refusal was not taken for an outage. */
const AT_ONCE_MS = 5000;

async function refusal(url: string): Promise<ConfigError> {
  if (skip) throw new Error(`RabbitMQ is required (REQUIRE_BROKERS=1): ${skip}`);
  const { error, elapsedMs, lines } = await attemptStart({ TRANSPORT: 'rabbitmq', AMQP_URL: url });
  expect(error).toBeInstanceOf(ConfigError);
  const refused = error as ConfigError;
  expect(refused.variable).toBe('AMQP_URL');
  expect(elapsedMs).toBeLessThan(AT_ONCE_MS);
  // one attempt, no waiting lines, no reconnect lines
  expect(lines.filter((line) => /waiting for|unreachable|reconnect/.test(line.msg))).toEqual([]);
  return refused;
}

describe.skipIf(skip !== undefined && process.env.REQUIRE_BROKERS !== '1')(
  'RabbitMQ refusals at start',
  () => {
    it('a wrong password: ACCESS_REFUSED at once, the password redacted', async () => {
      const secret = `wrong-${randomUUID().slice(0, 8)}`;
      const error = await refusal(
        amqp((url) => {
          url.password = secret;
        }),
      );
      expect(error.message).toMatch(
        /^AMQP_URL: login of user "\S+" refused \(403 ACCESS_REFUSED: .+\) at amqp:\/\//,
      );
      expect(error.message).toContain(':***@');
      expect(error.message).not.toContain(secret);
      expect(error.message.split('\n')).toHaveLength(1);
    });

    it('a missing vhost: NOT_ALLOWED at once, naming the vhost', async () => {
      const vhost = `no-such-vhost-${randomUUID().slice(0, 8)}`;
      const error = await refusal(
        amqp((url) => {
          url.pathname = `/${vhost}`;
        }),
      );
      expect(error.message).toContain(`virtual host "${vhost}" not found or not open to user`);
      expect(error.message).toContain('530 NOT_ALLOWED');
      expect(error.message).toContain(`/${vhost} `.trimEnd());
    });

    it('a URL amqplib cannot use (heartbeat=abc): invalid URL at once', async () => {
      const error = await refusal(
        amqp((url) => {
          url.searchParams.set('heartbeat', 'abc');
        }),
      );
      expect(error.message).toMatch(/^AMQP_URL: invalid URL \(.*heartbeat.*\) at amqp:\/\//);
    });

    it('a refused login is not tried again', async () => {
      const { log, lines } = capturingLogger();
      const transport = createRabbitMqTransport(log, {
        url: amqp((url) => {
          url.password = 'wrong';
        }),
        reconnectInitialDelayMs: 50,
        reconnectMaxDelayMs: 100,
      });
      try {
        const refused = await eventually(
          async () => {
            const health = await transport.health();
            expect(health.permanent).toBeInstanceOf(ConfigError);
            return health.permanent;
          },
          { timeoutMs: AT_ONCE_MS, intervalMs: 50 },
        );
        await new Promise((resolve) => setTimeout(resolve, 500)); // ten retries' time
        expect((await transport.health()).permanent).toBe(refused);
        expect(lines.filter((line) => /unreachable|reconnect/.test(line.msg))).toEqual([]);
      } finally {
        await transport.close();
      }
    });

    it('a URL that does not parse (port 99999), given to the transport directly: at once', async () => {
      // loadConfig refuses such a URL already; the transport must not retry it either
      const transport = createRabbitMqTransport(createLogger('silent'), {
        url: 'amqp://guest:hidden@127.0.0.1:99999',
      });
      const health = await transport.health();
      const again = await transport.health(); // no second attempt: the same refusal
      await transport.close();
      expect(again.permanent).toBe(health.permanent);
      expect(health.permanent).toBeInstanceOf(ConfigError);
      expect(health.permanent?.message).toBe('AMQP_URL: invalid URL at amqp://guest:***@127.0.0.1:99999');
    });
  },
);
