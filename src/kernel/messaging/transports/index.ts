import { type Config, ConfigError } from '../../config.js';
import type { Logger } from '../../observability/logger.js';
import type { Transport } from '../transport.js';
import { createMemoryTransport } from './memory.js';

/** The transport TRANSPORT names. */
export function createTransport(config: Config, log: Logger): Transport {
  switch (config.transport) {
    case 'memory':
      return createMemoryTransport(log);
    default:
      throw new ConfigError(
        'TRANSPORT',
        `"${config.transport}" is not available in this build yet (use memory)`,
      );
  }
}
