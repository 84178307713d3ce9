import type { Config } from '../../config.js';
import type { Logger } from '../../observability/logger.js';
import { openConfiguredDatabase } from '../../persistence/open.js';
import type { Transport } from '../transport.js';
import { createMemoryTransport } from './memory/memory.js';

/**
 * The transport TRANSPORT names. Broker names are prefixed with BUS_NAMESPACE; each consumer has
 * BUS_PARTITIONS partitions (subscribe refuses with a ConfigError when the broker holds the
 * consumer with another count). Only the chosen transport's code is loaded: a broker client and
 * its dependencies weigh tens of MB of RSS that a process on another transport has no use for.
 */
export async function createTransport(config: Config, log: Logger): Promise<Transport> {
  switch (config.transport) {
    case 'memory':
      return createMemoryTransport(log, (module) => openConfiguredDatabase(config, module, log));
    case 'bullmq': {
      const { createBullMqTransport } = await import('./bullmq/bullmq.js');
      return createBullMqTransport(log, {
        url: config.redisUrl,
        prefix: config.busNamespace,
        partitions: config.busPartitions,
      });
    }
    case 'rabbitmq': {
      const { createRabbitMqTransport } = await import('./rabbitmq/rabbitmq.js');
      return createRabbitMqTransport(log, {
        url: config.amqpUrls,
        queueType: config.rabbitmqQueueType,
        partitions: config.busPartitions,
        // the default namespace keeps the plain names (modulith.events, dlq.<module>.retry)
        namespace: config.busNamespace === 'modulith' ? '' : `${config.busNamespace}.`,
      });
    }
  }
}
