/** Rows 1-3: the message path on each transport against its raw library, same run. */
import { createMemoryTransport } from '../../../src/kernel/messaging/transports/memory/memory.js';
import { createLogger } from '../../../src/kernel/observability/logger.js';
import { postgresSkipReason } from '../../../src/kernel/testing/postgres.js';
import {
  type BrokerTransport,
  brokerSkipReason,
  brokerTransport,
  cleanupNamespace,
  newNamespace,
  type QueueType,
  rawSkipReason,
} from '../lib/brokers.js';
import { benchDatabase } from '../lib/databases.js';
import { type BenchOptions, scale } from '../lib/options.js';
import type { PathFigures, PathPlan } from '../lib/path.js';
import type { Measurement, RowSpec } from '../lib/rows.js';
import { CONCURRENCY, PREFETCH, rawAmqp, rawBullMq, transportPath } from './brokers.js';
import { measureKernelPath, SINK_CONCURRENCY } from './kernel-path.js';
import { localRawRows } from './local.js';
import { postgresRawRows, postgresServer } from './postgres.js';

const toMeasurement = ({ rate, latency }: PathFigures, unit = 'msg/s'): Measurement => ({
  value: rate,
  unit,
  p50: latency.p50,
  p99: latency.p99,
});

const planText = (plan: PathPlan) =>
  `${plan.warmup} warm-up messages, then the best of ${plan.rounds} runs of ${plan.count} messages published ` +
  `in batches of ${plan.batch} (throughput: first publish → last handled), then ${plan.latencyCount} ` +
  'messages one at a time (latency: publish → handler ran); 256 partition keys';

export function messageRows(options: BenchOptions): RowSpec[] {
  const brokerPlan: PathPlan = {
    warmup: scale(options, 1000, 200),
    count: scale(options, 5000, 1000),
    batch: 100,
    latencyCount: scale(options, 500, 50),
    rounds: scale(options, 2, 1),
    timeoutMs: scale(options, 60_000, 30_000),
  };
  // The kernel rows move ~4 SQLite transactions per message: smaller counts keep the run short.
  const kernelPlan: PathPlan = { ...brokerPlan, count: scale(options, 3000, 500), rounds: 1 };
  const memoryPlan: PathPlan = { ...brokerPlan, count: scale(options, 5000, 1000) };
  // On PostgreSQL a lone message often waits for the relay's 1 s sweep (findings.md): fewer
  // one-at-a-time messages keep the latency phase within the row's timeout.
  const postgresPlan: PathPlan = { ...kernelPlan, latencyCount: scale(options, 200, 50) };
  const rowTimeout = scale(options, 150_000, 60_000);
  const kernelMethod = (plan: PathPlan) =>
    `${planText(plan)}. Producer: one \`transact\` per message (INSERT a row + stage the event), yielding to ` +
    'the event loop after each; relay (batches of ≤ 200) → transport → consumer `benchsink.items` ' +
    `(concurrency ${SINK_CONCURRENCY}): inbox check, then one transaction with the handler's INSERT, the ` +
    'inbox record (and, on memory, the delivery row deleted).';

  const rows: RowSpec[] = [
    ...localRawRows(options),
    ...postgresRawRows(options),
    {
      id: 'kernel-memory',
      section: 'Message path',
      label: 'kernel path on the memory transport',
      method: `${kernelMethod(memoryPlan)} Durable: every (message, consumer) delivery is a row in the consumer's database.`,
      against: ['raw-sqlite-tx', 'raw-mitt'],
      timeoutMs: rowTimeout,
      run: async () => toMeasurement(await measureKernelPath(createMemoryTransport, memoryPlan)),
    },
    {
      id: 'kernel-memory-postgres',
      section: 'Message path',
      label: 'kernel path on the memory transport, module databases on PostgreSQL',
      method:
        `${kernelMethod(postgresPlan)} The fixture of \`kernel-memory\` with DATABASE_URL: both modules in their ` +
        `schema of one throwaway database (dropped after) on the local server (${postgresServer()}), ` +
        'DB_DURABILITY=process (synchronous_commit=off, as `raw-postgres-tx`); pools of 4 clients per module. ' +
        "Durable: every (message, consumer) delivery is a row in the consumer's schema.",
      against: ['raw-postgres-tx', 'kernel-memory'],
      timeoutMs: rowTimeout,
      skip: postgresSkipReason,
      run: async () => {
        const database = await benchDatabase('kernel_memory');
        try {
          return toMeasurement(await measureKernelPath(createMemoryTransport, postgresPlan, database.url));
        } finally {
          await database.drop();
        }
      },
    },
  ];

  for (const queueType of ['classic', 'quorum'] as const) {
    const raw = `raw-amqp-${queueType}`;
    rows.push(
      {
        id: raw,
        section: 'RabbitMQ',
        label: `raw amqplib, ${queueType} queue`,
        method:
          `${planText(brokerPlan)}. One durable ${queueType} queue through the default exchange, persistent ` +
          `messages, a confirm channel with one \`waitForConfirms\` per batch, a consumer with prefetch ${PREFETCH} ` +
          'and a manual ack after `JSON.parse`; publisher and consumer channels on one connection (noDelay).',
        timeoutMs: rowTimeout,
        skip: () => rawSkipReason('rabbitmq'),
        run: async () => toMeasurement(await rawAmqp(queueType, brokerPlan)),
      },
      transportRow('rabbitmq', queueType, raw, brokerPlan, rowTimeout),
    );
  }
  rows.push(kernelBrokerRow('rabbitmq', 'classic', 'raw-amqp-classic', kernelPlan, rowTimeout, kernelMethod));

  rows.push(
    {
      id: 'raw-bullmq',
      section: 'BullMQ',
      label: 'raw BullMQ: Queue.addBulk + Worker',
      method:
        `${planText(brokerPlan)}. One queue, \`addBulk\` per batch (job id = message id, removeOnComplete), ` +
        `a Worker with concurrency ${CONCURRENCY} whose processor runs \`JSON.parse\`.`,
      timeoutMs: rowTimeout,
      skip: () => rawSkipReason('bullmq'),
      run: async () => toMeasurement(await rawBullMq(brokerPlan)),
    },
    transportRow('bullmq', 'classic', 'raw-bullmq', brokerPlan, rowTimeout),
    kernelBrokerRow('bullmq', 'classic', 'raw-bullmq', kernelPlan, rowTimeout, kernelMethod),
  );
  return rows;
}

function transportRow(
  transport: BrokerTransport,
  queueType: QueueType,
  raw: string,
  plan: PathPlan,
  timeoutMs: number,
): RowSpec {
  const rabbit = transport === 'rabbitmq';
  return {
    id: rabbit ? `transport-rabbitmq-${queueType}` : 'transport-bullmq',
    section: rabbit ? 'RabbitMQ' : 'BullMQ',
    label: rabbit ? `RabbitMQ transport, ${queueType} queues` : 'BullMQ transport',
    method:
      `${planText(plan)}. The app's transport from \`createTransport\` (TRANSPORT=${transport}` +
      `${rabbit ? `, RABBITMQ_QUEUE_TYPE=${queueType}` : ''}, a fresh BUS_NAMESPACE), \`publish\` once per batch ` +
      `(it resolves when the broker has accepted the batch), one consumer endpoint (concurrency ${CONCURRENCY}) ` +
      'whose `deliver` runs `JSON.parse` and answers handled: no SQLite, so the row is the transport itself ' +
      `(partitioned queues, per-key order, ${rabbit ? `prefetch ${PREFETCH}, ` : ''}acks / completions).`,
    against: [raw],
    timeoutMs,
    skip: () => brokerSkipReason(transport),
    run: async () => toMeasurement(await transportPath(transport, queueType, plan)),
  };
}

function kernelBrokerRow(
  transport: BrokerTransport,
  queueType: QueueType,
  raw: string,
  plan: PathPlan,
  timeoutMs: number,
  method: (plan: PathPlan) => string,
): RowSpec {
  return {
    id: `kernel-${transport}`,
    section: transport === 'rabbitmq' ? 'RabbitMQ' : 'BullMQ',
    label: `kernel path on the ${transport} transport${transport === 'rabbitmq' ? `, ${queueType}` : ''}`,
    method: `${method(plan)} Same fixture as the memory row, on the broker (a fresh BUS_NAMESPACE).`,
    against: [raw, 'raw-sqlite-tx'],
    timeoutMs,
    skip: () => brokerSkipReason(transport),
    run: async () => {
      const namespace = newNamespace();
      try {
        const bus = await brokerTransport(transport, namespace, queueType)(createLogger('silent'));
        return toMeasurement(await measureKernelPath(() => bus, plan));
      } finally {
        await cleanupNamespace(transport, namespace, ['benchsink.items']);
      }
    },
  };
}
