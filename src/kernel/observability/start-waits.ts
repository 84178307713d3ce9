/**
 * What this process's start is waiting for (a module database whose server does not answer yet),
 * keyed as readiness names its checks (`db:<module>`), with what to tell an operator. The opener
 * records a wait and clears it when the server answers; the host's starting responder
 * (host/starting-server.ts) reads it, so that the port answers meanwhile. One process, one start:
 * module-level state on purpose, since the wait happens deep inside building the app.
 */
const waits = new Map<string, string>();
const listeners = new Set<() => void>();

export const startWaits = {
  /** Records (or updates) a wait: `check` as readiness names it, `detail` for an operator. */
  set(check: string, detail: string): void {
    waits.set(check, detail);
    for (const listener of listeners) listener();
  },
  clear(check: string): void {
    if (waits.delete(check)) for (const listener of listeners) listener();
  },
  /** The waits in progress, by check. */
  current(): ReadonlyMap<string, string> {
    return waits;
  },
  /** Calls `listener` on every change; returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};
