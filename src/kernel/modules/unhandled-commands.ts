import type { ModuleDefinition } from './module.js';

/**
 * The commands the given modules send whose owner (the module that handles them) is not among
 * them. On the memory transport no other process can run that owner: such a command waits in the
 * owner's database (provisioned) until a start that runs the owner, and whatever waits for its
 * reply (a saga step) times out meanwhile. On a broker another process may run the owner, so the
 * question is only asked on memory.
 */
export function unhandledCommands(modules: readonly ModuleDefinition[]): string[] {
  const running = new Set(modules.map((module) => module.name));
  const sent = modules.flatMap((module) => module.sends ?? []);
  return [
    ...new Set(sent.filter((command) => !running.has(command.owner)).map((command) => command.type)),
  ].sort();
}
