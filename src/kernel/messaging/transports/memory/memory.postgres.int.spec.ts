import { describeWithPostgres } from '../../../testing/postgres.js';
import { describeTransportConformance } from '../testing/conformance/suite.js';
import { createMemoryTransport } from './memory.js';

/**
 * The transport conformance suite with every module database in PostgreSQL (DATABASE_URL): the
 * kernel's outbox, relay, inbox, deliveries, dead letters and leases on the second backend.
 */
await describeWithPostgres('memory transport, module databases on PostgreSQL', () => {
  describeTransportConformance('memory on PostgreSQL', createMemoryTransport, {
    injectRaw: (endpoint, raw, kernel) => kernel.transport.redeliver(endpoint, raw),
    onPostgres: true,
  });
});
