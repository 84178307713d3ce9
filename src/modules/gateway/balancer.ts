import type { ServiceInstance } from '../../kernel/index.js';

/** How long an instance that refused a connection is skipped (it may be restarting). */
export const SUSPECT_MS = 2000;

/**
 * Round-robin over a module's instances: healthy ones (readiness `pass`) first, in turn; then the
 * live but unready ones, as a last resort; instances that just refused a connection are skipped
 * for a while.
 */
export class Balancer {
  readonly #turn = new Map<string, number>();
  readonly #suspects = new Map<string, number>();

  /** The instances to try, in order, for one request to `module`. */
  candidates(module: string, instances: readonly ServiceInstance[], now = Date.now()): ServiceInstance[] {
    for (const [id, until] of this.#suspects) if (until <= now) this.#suspects.delete(id);
    const usable = instances.filter((instance) => !this.#suspects.has(instance.id));
    const turn = this.#turn.get(module) ?? 0;
    this.#turn.set(module, turn + 1);
    const rotate = (list: ServiceInstance[]) => {
      if (list.length === 0) return list;
      const start = turn % list.length;
      return [...list.slice(start), ...list.slice(0, start)];
    };
    return [
      ...rotate(usable.filter((instance) => instance.status === 'pass')),
      ...rotate(usable.filter((instance) => instance.status !== 'pass')),
    ];
  }

  /** Skips this instance for `ms` (it refused a connection). */
  suspect(id: string, ms = SUSPECT_MS, now = Date.now()): void {
    this.#suspects.set(id, now + ms);
  }
}
