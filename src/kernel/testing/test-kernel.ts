import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config.js';
import type { RetryPolicy } from '../messaging/retry.js';
import type { Transport } from '../messaging/transport.js';
import { createMemoryTransport } from '../messaging/transports/memory/memory.js';
import { Kernel } from '../modules/kernel.js';
import type { ModuleContext, ModuleDefinition } from '../modules/module.js';
import { createLogger, type Logger } from '../observability/logger.js';
import type { RelayOptions } from '../outbox/relay.js';
import type { ModuleDatabase } from '../persistence/db.js';
import { openConfiguredDatabase } from '../persistence/open.js';
import type { PrunerOptions } from '../persistence/pruner.js';

/** Makes a test kernel's transport; `openDatabase` opens a module's database as the kernel does. */
export type TransportFactory = (
  log: Logger,
  openDatabase: (module: string) => Promise<ModuleDatabase>,
) => Transport;

export interface TestKernelOptions {
  readonly modules: readonly ModuleDefinition[];
  /** Every module of the build, running or not (default: `modules`): see `KernelOptions.catalogue`. */
  readonly catalogue?: readonly ModuleDefinition[];
  /** A fresh transport per start (default: memory), given how the kernel opens module databases. */
  readonly transport?: TransportFactory;
  readonly retry?: Partial<RetryPolicy>;
  readonly relay?: Partial<RelayOptions>;
  /** The pruner's timing and retentions (in ms: shorter than the variables can say). */
  readonly pruner?: Partial<PrunerOptions>;
  readonly env?: Readonly<Record<string, string>>;
  /** Reuse a data directory (default: a new temporary one, removed by `dispose`). */
  readonly dataDir?: string;
  /** How long start waits for the broker before it serves without the bus (Kernel's default: 5 s). */
  readonly brokerWaitMs?: number;
}

/** A kernel without HTTP on a temporary data directory, restartable over the same databases. */
export interface TestKernel {
  readonly kernel: Kernel;
  readonly dataDir: string;
  context(module: string): ModuleContext;
  /** Stops and starts a new kernel over the same databases (a clean restart). */
  restart(
    overrides?: Partial<Pick<TestKernelOptions, 'modules' | 'catalogue' | 'transport' | 'retry'>>,
  ): Promise<TestKernel>;
  stop(): Promise<void>;
  /** Stops and deletes the data directory. */
  dispose(): Promise<void>;
}

export async function startTestKernel(options: TestKernelOptions): Promise<TestKernel> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'kernel-test-'));
  // The catalogue is the build's modules (where each keeps its database); MODULES, those running.
  const config = loadConfig(
    {
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...options.env,
      DATA_DIR: dataDir,
      MODULES: options.modules.map((m) => m.name).join(','),
    },
    (options.catalogue ?? options.modules).map((m) => m.name),
  );
  const log = createLogger(config.logLevel);
  const kernel = new Kernel({
    config,
    modules: options.modules,
    ...(options.catalogue ? { catalogue: options.catalogue } : {}),
    transport: (options.transport ?? createMemoryTransport)(log, (module) =>
      openConfiguredDatabase(config, module, log),
    ),
    log,
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.relay ? { relay: options.relay } : {}),
    ...(options.pruner ? { pruner: options.pruner } : {}),
    ...(options.brokerWaitMs !== undefined ? { brokerWaitMs: options.brokerWaitMs } : {}),
  });
  await kernel.start();
  const handle: TestKernel = {
    kernel,
    dataDir,
    context(module) {
      const found = kernel.modules.find((m) => m.definition.name === module);
      if (!found) throw new Error(`module ${module} is not running`);
      return found.context;
    },
    async restart(overrides = {}) {
      await kernel.stop();
      return startTestKernel({ ...options, ...overrides, dataDir });
    },
    stop: () => kernel.stop(),
    async dispose() {
      await kernel.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}
