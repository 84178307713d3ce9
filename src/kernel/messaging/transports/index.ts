import type { Config } from '../../config.js';
import type { Logger } from '../../observability/logger.js';
import type { Transport } from '../transport.js';
import { createBullMqTransport } from './bullmq.js';
import { createMemoryTransport } from './memory.js';
import { createRabbitMqTransport } from './rabbitmq.js';

/** The transport TRANSPORT names. Broker names are prefixed with BUS_NAMESPACE. */
export function createTransport(config: Config, log: Logger): Transport {
  switch (config.transport) {
    case 'memory':
      return createMemoryTransport(log);
    case 'bullmq':
      return createBullMqTransport(log, { url: config.redisUrl, prefix: config.busNamespace });
    case 'rabbitmq':
      return createRabbitMqTransport(log, {
        url: config.amqpUrl,
        queueType: config.rabbitmqQueueType,
        // the default namespace keeps the plain names (modulith.events, dlq.<module>.retry)
        namespace: config.busNamespace === 'modulith' ? '' : `${config.busNamespace}.`,
      });
  }
}
