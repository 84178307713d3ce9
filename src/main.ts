import { buildApp, moduleCatalogue } from './app.js';
import { assertPortFree, listen } from './kernel/host/listen.js';
import { answerWhileStarting } from './kernel/host/starting-server.js';
import { type Config, ConfigError, type HttpApp, loadConfig } from './kernel/index.js';

const SHUTDOWN_TIMEOUT_MS = 15_000;
/**
 * Ctrl-C under `npm start` reaches node twice (from the terminal, and forwarded by npm): a second
 * signal this soon after the first is that same one, not a user insisting on exiting now.
 */
const SAME_SIGNAL_MS = 1000;

function readDotEnv(): void {
  try {
    process.loadEnvFile('.env');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Configuration errors end the start with one line and exit code 1; anything else is rethrown. */
function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    console.error(`Configuration error: ${error.message}`);
    process.exit(1);
  }
  throw error;
}

function configOrExit(): Config {
  try {
    return loadConfig(
      process.env,
      moduleCatalogue.map((module) => module.name),
    );
  } catch (error) {
    return exitOnConfigError(error);
  }
}

async function appOrExit(config: Config): Promise<HttpApp> {
  try {
    return await buildApp(config);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(
      error instanceof ConfigError ? `Configuration error: ${message}` : `Start failed: ${message}`,
    );
    process.exit(1);
  }
}

/**
 * A start the kernel finished in the background (its broker answered late) and that failed for
 * good there (a refused login, a ConfigError such as BUS_PARTITIONS): one line, as a failed start
 * prints, then the app closed and exit code 1, so a supervisor sees a configuration error.
 */
function exitOnKernelFailure(app: HttpApp): void {
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

/** SIGTERM/SIGINT: stop HTTP, drain handlers and relays, close databases; a second signal exits now. */
function stopOnSignals(app: HttpApp): void {
  let firstAt: number | undefined;
  const shutdown = (signal: string) => {
    if (firstAt !== undefined) {
      if (Date.now() - firstAt < SAME_SIGNAL_MS) return;
      app.log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    firstAt = Date.now();
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
}

async function main(): Promise<void> {
  readDotEnv();
  const config = configOrExit();
  // before buildApp, which connects to the broker: a port in use is one line now, not after retries
  await assertPortFree(config).catch(exitOnConfigError);
  // a module database waited for at start: the port answers (readiness 503) until the app listens
  const starting = answerWhileStarting(config);
  const app = await appOrExit(config);
  await starting.close();
  exitOnKernelFailure(app);
  if (config.jwtSecretGenerated) {
    app.log.warn('JWT_SECRET is not set: using a random secret; tokens will not survive a restart');
  }
  stopOnSignals(app);
  try {
    await listen(app, config);
  } catch (error) {
    await app.close().catch(() => {}); // the port was taken after the check: release what started
    exitOnConfigError(error);
  }
}

await main();
