import { buildApp, moduleCatalogue } from './app.js';
import { type Config, ConfigError, loadConfig } from './kernel/index.js';

const SHUTDOWN_TIMEOUT_MS = 15_000;

function readDotEnv(): void {
  try {
    process.loadEnvFile('.env');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function configOrExit(): Config {
  try {
    return loadConfig(
      process.env,
      moduleCatalogue.map((module) => module.name),
    );
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`Configuration error: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

/**
 * A start the kernel finished in the background (its broker answered late) and that failed for
 * good there (a refused login, a ConfigError such as BUS_PARTITIONS): one line, as a failed start
 * prints, then the app closed and exit code 1, so a supervisor sees a configuration error.
 */
function exitOnKernelFailure(app: Awaited<ReturnType<typeof buildApp>>): void {
  app.kernel.onFatal((error) => {
    console.error(
      error instanceof ConfigError
        ? `Configuration error: ${error.message}`
        : `Start failed: ${error.message}`,
    );
    const exit = () => process.exit(1);
    setTimeout(exit, SHUTDOWN_TIMEOUT_MS).unref();
    app.close().then(exit, exit);
  });
}

async function main(): Promise<void> {
  readDotEnv();
  const config = configOrExit();
  let app: Awaited<ReturnType<typeof buildApp>>;
  try {
    app = await buildApp(config);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(
      error instanceof ConfigError ? `Configuration error: ${message}` : `Start failed: ${message}`,
    );
    process.exit(1);
  }
  exitOnKernelFailure(app);
  if (config.jwtSecretGenerated) {
    app.log.warn('JWT_SECRET is not set: using a random secret; tokens will not survive a restart');
  }
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) {
      app.log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    closing = true;
    app.log.info(`${signal}: shutting down`);
    setTimeout(() => {
      app.log.error('shutdown timed out');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await app.listen({ port: config.port, host: config.host });
}

await main();
