import type { Logger } from '../../../observability/logger.js';
import { redisSkipReason } from '../../../testing/brokers.js';
import { describeTransportConformance } from '../testing/conformance/suite.js';
import { createBullMqTransport } from './bullmq.js';
import { addJobByHand, redisServerMissingReason, usePrivateRedis } from './testing/private-redis.js';

// The whole block runs against a redis-server of its own (AOF, appendfsync always) on a free
// port, so restarting it never disturbs other test files that use the shared Redis; each test
// has its own key prefix. Short locks and leases: a crashed holder is replaced within a second.
const skip = (await redisSkipReason()) ?? redisServerMissingReason();
const redis = usePrivateRedis(skip);

const create = (log: Logger) =>
  createBullMqTransport(log, {
    url: redis.url(),
    prefix: redis.prefix(),
    partitions: 4, // addJobByHand's default
    lockDurationMs: 1000,
    leaseTtlMs: 1000,
    blockTimeoutSec: 1,
  });

describeTransportConformance('bullmq', create, {
  skip,
  restartBroker: () => redis.server().restart(),
  injectRaw: (endpoint, raw) => addJobByHand(redis.url(), redis.prefix(), endpoint.name, raw),
});
