import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConfigError } from '../../../config.js';
import { defineModule } from '../../../modules/module.js';
import { startTestKernel } from '../../../testing/index.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../../../testing/postgres.js';
import { on } from '../../subscription.js';
import { thingHappened } from '../testing/conformance/fixtures.js';
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

await describeWithPostgres(
  'copies of the app on the memory transport sharing one PostgreSQL database',
  () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase('memory_copies');
    });
    afterAll(() => database.drop());

    const modules = [
      defineModule({ name: 'source', messages: [thingHappened] }),
      defineModule({
        name: 'alpha',
        subscriptions: [{ consumer: 'alpha.things', handlers: [on(thingHappened, async () => {})] }],
      }),
    ];
    const copy = () => startTestKernel({ modules, env: { DATABASE_URL: database.url } });

    it('refuses a second copy with one line naming TRANSPORT, and lets one start once the first stopped', async () => {
      const first = await copy();
      try {
        const second = copy();
        await expect(second).rejects.toThrow(ConfigError);
        await expect(second).rejects.toThrow(/^TRANSPORT: memory delivers from one process per database/);
      } finally {
        await first.dispose();
      }
      const third = await copy(); // the first released its claim when it stopped
      await third.dispose();
    });
  },
);
