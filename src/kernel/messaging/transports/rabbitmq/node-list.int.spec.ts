/**
 * AMQP_URL as a node list, on the shared broker (AMQP_URL) reached under other addresses: a port
 * nothing listens on is a node that is down, a wrong password a node that refuses the login, and a
 * TCP relay that is stopped a node that goes away (its connections cut). The whole app on a real
 * three-node cluster: test/cluster/rabbitmq-cluster.e2e.spec.ts.
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../config.js';
import { amqpSkipReason, amqpUrl, envelopeOf, freePorts, TcpRelay } from '../../../testing/index.js';
import { attemptStart, capturingLogger } from '../../../testing/start-attempt.js';
import { thing } from '../testing/conformance/fixtures.js';
import { createRabbitMqTransport } from './rabbitmq.js';
import { exchangeName } from './topology.js';

const skip = await amqpSkipReason();
if (skip && process.env.REQUIRE_BROKERS === '1') {
  it('runs, because REQUIRE_BROKERS=1', () => {
    throw new Error(`RabbitMQ node list specs cannot run: ${skip}`);
  });
} else if (skip) {
  console.warn(`skipping RabbitMQ node list specs: ${skip}`);
}

/** The shared broker's URL with `change` applied (another port, another password). */
function variant(change: (url: URL) => void): string {
  const url = new URL(amqpUrl);
  change(url);
  return url.toString().replace(/\/$/, '');
}
const masked = (url: string) => url.replace(/:[^:@/]*@/, ':***@');

describe.skipIf(skip !== undefined)('RabbitMQ node list (AMQP_URL, comma separated)', () => {
  const namespaces: string[] = [];
  afterEach(async () => {
    const connection = await connect(amqpUrl);
    try {
      const channel = await connection.createChannel();
      for (const namespace of namespaces.splice(0)) {
        await channel.deleteExchange(exchangeName({ namespace, partitions: 1, queueType: 'classic' }));
      }
    } finally {
      await connection.close();
    }
  });

  it('connects to the first node that answers: the first one down, the second taken', async () => {
    const [downPort] = await freePorts(1);
    const down = variant((url) => {
      url.port = String(downPort);
    });
    const namespace = `nl-${randomUUID().slice(0, 8)}`;
    const { error, lines } = await attemptStart({
      TRANSPORT: 'rabbitmq',
      AMQP_URL: `${down},${amqpUrl}`,
      BUS_NAMESPACE: namespace,
    });
    namespaces.push(`${namespace}.`);
    expect(error).toBeUndefined();
    const said = lines.map((line) => line.msg);
    expect(said).toContainEqual(
      expect.stringMatching(
        new RegExp(`^RabbitMQ at ${literal(masked(down))} unreachable .* on ${literal(masked(amqpUrl))}`),
      ),
    );
    expect(said).toContain(`RabbitMQ connected (${masked(amqpUrl)})`);
  });

  it('passes over a node that refuses the login when another takes it', async () => {
    const refusing = variant((url) => {
      url.password = 'wrong-password';
    });
    const namespace = `nl-${randomUUID().slice(0, 8)}`;
    const { error, lines } = await attemptStart({
      TRANSPORT: 'rabbitmq',
      AMQP_URL: `${refusing},${amqpUrl}`,
      BUS_NAMESPACE: namespace,
    });
    namespaces.push(`${namespace}.`);
    expect(error).toBeUndefined();
    const said = lines.map((line) => line.msg);
    expect(said).toContainEqual(expect.stringContaining('refused the connection (login of user'));
    expect(said).toContain(`RabbitMQ connected (${masked(amqpUrl)})`);
    expect(JSON.stringify(lines)).not.toContain('wrong-password');
  });

  it('fails start with the refusal once every node was tried: one down, one refusing', async () => {
    const [downPort] = await freePorts(1);
    const down = variant((url) => {
      url.port = String(downPort);
    });
    const refusing = variant((url) => {
      url.password = 'wrong-password';
    });
    const { error, lines } = await attemptStart({
      TRANSPORT: 'rabbitmq',
      AMQP_URL: `${down},${refusing}`,
    });
    expect(error).toBeInstanceOf(ConfigError);
    const refused = error as ConfigError;
    expect(refused.variable).toBe('AMQP_URL');
    expect(refused.message).toMatch(
      /^AMQP_URL: login of user "\S+" refused \(403 ACCESS_REFUSED: .+\) at amqp:\/\//,
    );
    expect(refused.message).toContain(masked(refusing));
    expect(refused.message).not.toContain('wrong-password');
    // not taken for an outage: start did not wait for the broker (a line per second of waiting)
    expect(lines.filter((line) => /waiting for/.test(line.msg))).toEqual([]);
  });

  it('fails over to the next node when the connection is lost, and publishes again', async () => {
    const relays = (await freePorts(2)).map((port) => TcpRelay.to(amqpUrl, 5672, port));
    for (const relay of relays) await relay.start();
    const [nodeA, nodeB] = relays.map((relay) =>
      variant((url) => {
        url.port = String(relay.port);
      }),
    ) as [string, string];
    const namespace = `nl-${randomUUID().slice(0, 8)}.`;
    namespaces.push(namespace);
    const { log, lines } = capturingLogger();
    const transport = createRabbitMqTransport(log, {
      url: [nodeA, nodeB],
      namespace,
      connectTimeoutMs: 10_000,
      publishTimeoutMs: 2000,
    });
    try {
      await transport.publish([envelopeOf(thing('k', 1))]);
      await relays[0]?.stop(); // node A goes away: every connection through it is cut
      await publishEventually(() => transport.publish([envelopeOf(thing('k', 2))]));
      expect(await transport.health()).toEqual({ ok: true });
      const said = lines.map((line) => line.msg);
      expect(said).toContain(`RabbitMQ connected (${masked(nodeA)})`);
      expect(said).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^RabbitMQ connection to ${literal(masked(nodeA))} lost .* reconnecting on ${literal(masked(nodeB))}$`,
          ),
        ),
      );
      expect(said).toContain(`RabbitMQ reconnected (${masked(nodeB)})`);
    } finally {
      await transport.close();
      for (const relay of relays) await relay.stop();
    }
  });
});

/** Publishes until it succeeds: while the link fails over, a publish rejects (the outbox would retry). */
async function publishEventually(publish: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await publish();
    } catch (error) {
      if (attempt >= 10) throw error;
    }
  }
}

const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
