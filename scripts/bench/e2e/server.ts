/**
 * An e2e child: the real app (`buildApp` over the whole catalogue, configured from the
 * environment like `npm start`) on a free loopback port. It reports its port and its consumers
 * (so the bench can delete their broker queues afterwards) over IPC. With BENCH_TRACING, an
 * OpenTelemetry SDK is registered first (tracing.ts), as an application would before it starts.
 */
import { buildApp, moduleCatalogue } from '../../../src/app.js';
import { loadConfig } from '../../../src/kernel/index.js';
import { reportFailure, serveParent } from './protocol.js';
import { registerBenchTracing } from './tracing.js';

try {
  registerBenchTracing(process.env.BENCH_TRACING);
  const config = loadConfig(
    process.env,
    moduleCatalogue.map((module) => module.name),
  );
  const app = await buildApp(config);
  await app.listen({ port: config.port, host: '127.0.0.1' }); // PORT=0: any free port
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const consumers = (await app.kernel.transport.stats()).map((stats) => stats.consumer);
  serveParent(() => app.close());
  process.send?.({ type: 'ready', port, consumers });
} catch (error) {
  reportFailure(error);
}
