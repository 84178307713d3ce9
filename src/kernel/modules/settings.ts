import type { Config } from '../config.js';
import { readSettings } from '../env-readers.js';
import type { ModuleDefinition } from './module.js';

/** Each module's settings by module name (undefined for a module without a `settings` function). */
export type ModuleSettings = ReadonlyMap<string, unknown>;

/**
 * Runs the `settings` function of each of `modules` (the ones this process runs) on the
 * environment loadConfig read. Pure: call it before anything connects, so a bad value stops the
 * start with the module's ConfigError (the first one, in the order of `modules`) and nothing to
 * close. A module not given here is not read, so its variables are neither required nor checked.
 */
export function readModuleSettings(config: Config, modules: readonly ModuleDefinition[]): ModuleSettings {
  const read = readSettings(config.env);
  return new Map(modules.map((module) => [module.name, module.settings?.(read)]));
}
