/**
 * The RabbitMQ transport against the conformance suite, on a RabbitMQ node of its own: the test
 * boots a second node (its own name, ports and data directory) so that restarting it mid-stream
 * disturbs no other test using the shared broker. The restart is `rabbitmqctl stop_app` then
 * `start_app`: every connection is closed by the server, every queue is stopped and recovered
 * from disk, as in a broker restart, in about 3 s instead of a 6-12 s boot.
 * Without rabbitmq-server on this machine, the suite runs on AMQP_URL without the restart case.
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'amqplib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../../observability/logger.js';
import { onEveryConsumer } from '../../../testing/consumer-hook.js';
import { amqpSkipReason, amqpUrl, envelopeOf, freePort } from '../../../testing/index.js';
import { UnroutedError } from '../../errors.js';
import type { ConsumerEndpoint, ConsumerTopology, Transport } from '../../transport.js';
import { partitionOf } from '../partition.js';
import { thing } from '../testing/conformance/fixtures.js';
import { describeTransportConformance } from '../testing/conformance/suite.js';
import { partitionKeyOf } from './publish.js';
import { createRabbitMqTransport, type RabbitMqOptions } from './rabbitmq.js';
import { PrivateRabbit } from './testing/private-node.js';
import {
  deadLetterQueue,
  endpointQueues,
  exchangeName,
  partitionQueue,
  partitionQueues,
  type Topology,
} from './topology.js';

const skip = await amqpSkipReason();
const noPrivateNode = skip ? undefined : PrivateRabbit.missingReason();
if (noPrivateNode)
  console.warn(
    `rabbitmq: ${noPrivateNode}; the conformance suite runs on ${amqpUrl} without the broker restart case`,
  );
let rabbit: PrivateRabbit | undefined;
const brokerUrl = () => rabbit?.url ?? amqpUrl;

beforeAll(async () => {
  if (!skip && !noPrivateNode) rabbit = await PrivateRabbit.start('restart');
}, 150_000);
afterAll(async () => {
  await rabbit?.stop();
});

// Names of this test: a namespace per test, deleted afterwards.
const runId = randomUUID().slice(0, 8);
let testNumber = 0;
let topology: Topology = { namespace: '', partitions: 4, queueType: 'classic' };
const subscribed = new Map<string, string>(); // consumer → module
beforeEach(() => {
  topology = { namespace: `t-${runId}-${++testNumber}.`, partitions: 4, queueType: 'classic' };
  subscribed.clear();
});
afterEach(async () => {
  if (skip) return;
  const connection = await connect(brokerUrl());
  try {
    const channel = await connection.createChannel();
    for (const [consumer, module] of subscribed) {
      for (const queue of [...endpointQueues(topology, consumer), deadLetterQueue(topology, module)]) {
        await channel.deleteQueue(queue);
      }
    }
    await channel.deleteExchange(exchangeName(topology));
  } finally {
    await connection.close();
  }
});

const options = (overrides: Partial<RabbitMqOptions> = {}): RabbitMqOptions => ({
  url: brokerUrl(),
  namespace: topology.namespace,
  partitions: topology.partitions,
  connectionName: `modulith-test ${topology.namespace}`,
  connectTimeoutMs: 10_000,
  reconnectMaxDelayMs: 1000,
  ...overrides,
});

/** The transport, remembering what it subscribes so that the test's queues can be deleted. */
function create(log: Logger, overrides: Partial<RabbitMqOptions> = {}): Transport {
  return onEveryConsumer(createRabbitMqTransport(log, options(overrides)), (endpoint) =>
    subscribed.set(endpoint.name, endpoint.module),
  );
}

/** Puts raw bytes by hand on the partition queue their key belongs to, as another producer might. */
async function injectRaw(endpoint: ConsumerEndpoint, raw: string): Promise<void> {
  const connection = await connect(brokerUrl());
  try {
    const channel = await connection.createConfirmChannel();
    const content = Buffer.from(raw);
    const partition = partitionOf(partitionKeyOf(content), topology.partitions);
    channel.sendToQueue(partitionQueue(topology, endpoint.name, partition), content, { persistent: true });
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

describeTransportConformance('rabbitmq', (log) => create(log), {
  ...(skip ? { skip } : {}),
  ...(noPrivateNode ? {} : { restartBroker: () => rabbit?.restart() ?? Promise.resolve() }),
  injectRaw: (endpoint, raw) => injectRaw(endpoint, raw),
});

if (!skip && noPrivateNode && process.env.REQUIRE_BROKERS === '1') {
  it('restarts a private RabbitMQ node, because REQUIRE_BROKERS=1', () => {
    throw new Error(noPrivateNode);
  });
}

describe.skipIf(skip)('rabbitmq transport: provisioning', () => {
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const sink: ConsumerTopology = {
    name: 'sink.things',
    module: 'sink',
    handles: ['source.thing-happened'],
    types: ['source.thing-happened'],
  };

  /** Ready messages in the consumer's partition queues, read by hand. */
  async function waiting(consumer: string): Promise<number> {
    const connection = await connect(brokerUrl());
    try {
      const channel = await connection.createChannel();
      let count = 0;
      for (const queue of partitionQueues(topology, consumer))
        count += (await channel.checkQueue(queue)).messageCount;
      return count;
    } finally {
      await connection.close();
    }
  }

  it('keeps what is published for a consumer that never ran in the queues provisioned for it', async () => {
    const transport = create(log);
    try {
      await transport.provision([sink]);
      await transport.publish([envelopeOf(thing('k', 1)), envelopeOf(thing('m', 2))]);
      expect(await waiting(sink.name)).toBe(2);
    } finally {
      await transport.close();
    }
  });

  it('refuses a publish that no queue took (mandatory), declares the topology again, and publishes on retry', async () => {
    const transport = create(log);
    try {
      await transport.provision([sink]);
      const connection = await connect(brokerUrl());
      try {
        const channel = await connection.createChannel();
        for (const queue of partitionQueues(topology, sink.name)) await channel.deleteQueue(queue); // by hand
      } finally {
        await connection.close();
      }
      const failure = await transport.publish([envelopeOf(thing('k', 1))]).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(UnroutedError);
      expect((failure as UnroutedError).types).toEqual(['source.thing-happened']);
      await transport.publish([envelopeOf(thing('k', 1))]); // the relay's retry: the queues exist again
      expect(await waiting(sink.name)).toBe(1);
    } finally {
      await transport.close();
    }
  });
});

describe.skipIf(skip || noPrivateNode)('rabbitmq transport: broker outages', () => {
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

  it('rejects a publish while the broker is down, within its bound, then publishes again', async () => {
    const transport = create(log, { publishTimeoutMs: 1500 });
    try {
      await transport.publish([envelopeOf(thing('k', 0))]);
      expect(await transport.health()).toMatchObject({ ok: true });
      await rabbit?.stopApp();
      const started = Date.now();
      await expect(transport.publish([envelopeOf(thing('k', 1))])).rejects.toThrow(
        /not connected|confirm|closed/,
      );
      expect(Date.now() - started).toBeLessThan(5000);
      expect(await transport.health()).toMatchObject({ ok: false });
      await rabbit?.startApp();
      await expect(
        (async () => {
          for (let i = 0; ; i++) {
            try {
              return await transport.publish([envelopeOf(thing('k', 2))]);
            } catch (error) {
              if (i > 20) throw error;
            }
          }
        })(),
      ).resolves.toBeUndefined();
    } finally {
      await transport.close();
    }
  });

  it('fails to start within its window, naming AMQP_URL, when nothing answers', async () => {
    const port = await freePort();
    const transport = createRabbitMqTransport(log, {
      url: `amqp://guest:secret@127.0.0.1:${port}`,
      connectTimeoutMs: 1500,
      reconnectMaxDelayMs: 200,
    });
    const started = Date.now();
    const failure = await transport.publish([envelopeOf(thing('k', 1))]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect(String(failure)).toMatch(/AMQP_URL: no RabbitMQ answered at amqp:\/\/guest:\*\*\*@127\.0\.0\.1/);
    expect(String(failure)).not.toContain('secret');
    expect(Date.now() - started).toBeLessThan(4000);
    await transport.close();
  });
});
