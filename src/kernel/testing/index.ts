/**
 * Test helpers for kernel and module specs (imported by `*.spec.ts` files only). `createHost` is
 * the host itself: a module spec runs its module over HTTP with fixtures beside it
 * (`createHost(config, { catalogue: [ordersModule, ...stand-ins] })`), never the whole app.
 */
export { createHost } from '../host/create-host.js';
export type { PostgresModuleDatabase } from '../persistence/postgres.js';
export { jsonObject } from './arbitraries.js';
export { amqpSkipReason, amqpUrl, redisSkipReason, redisUrl, unreachableReason } from './brokers.js';
export { eventually } from './eventually.js';
export { handlerContextWithoutInbox } from './handler-context.js';
export { freePort, freePorts } from './ports.js';
export {
  createTestDatabase,
  databaseExists,
  describeWithPostgres,
  openMigratedPostgresModule,
  type PostgresModuleHarness,
  postgresModuleHarness,
  postgresSkipReason,
  postgresUrl,
  TEST_DATABASE_PREFIX,
  type TestDatabase,
} from './postgres.js';
export { envelopeOf, type SagaOutcome, STEP_TIMEOUT, sagaSpec } from './saga-spec.js';
export { TcpRelay } from './tcp-relay.js';
export { startTestKernel, type TestKernel, type TestKernelOptions } from './test-kernel.js';
