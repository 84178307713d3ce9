/**
 * Test fixture (run by bullmq.scenarios.int.spec.ts as a child process, then killed with SIGKILL):
 * one consumer instance of `alpha.things` on the BullMQ transport whose handler prints `start <n>`
 * and `done <n>` around a pause. Arguments: redis url, key prefix, pause in ms, then optionally
 * `defaults` (the transport's own lock, lease and fetch settings instead of one-second ones) and
 * an instance id.
 */
import { pino } from 'pino';
import type { ModuleDatabase } from '../../../../persistence/db.js';
import { createBullMqTransport } from '../bullmq.js';

const [url = '', prefix = '', pauseMs = '100', timing = 'short', instanceId] = process.argv.slice(2);
const short = { lockDurationMs: 1000, leaseTtlMs: 1000, blockTimeoutSec: 1 };
const transport = createBullMqTransport(pino({ level: 'silent' }), {
  url,
  prefix,
  partitions: 4, // as the test's own instances: the consumer has one count
  ...(timing === 'defaults' ? {} : short),
  ...(instanceId ? { instanceId } : {}),
});
await transport.subscribe({
  name: 'alpha.things',
  module: 'alpha',
  types: ['source.thing-happened'],
  handles: ['source.thing-happened'],
  concurrency: 1,
  database: undefined as unknown as ModuleDatabase,
  async deliver(raw) {
    const { n } = (JSON.parse(raw.toString()) as { data: { n: number } }).data;
    process.stdout.write(`start ${n}\n`);
    await new Promise((resolve) => setTimeout(resolve, Number(pauseMs)));
    process.stdout.write(`done ${n}\n`);
    return { kind: 'handled' };
  },
});
process.stdout.write('ready\n');
