import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ModuleDatabase } from '../persistence/db.js';
import type { Statement } from '../persistence/statement.js';

/** `<hostname>:<pid>:<nonce>`: who holds a lease, and whether that process still lives. */
export function newLeaseHolder(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** True when `holder` names a process of this host that no longer exists. */
export function holderIsDead(holder: string): boolean {
  const [host, pidText] = holder.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * A named lease in a module database (`kernel_leases`), shared by every process that opens it.
 * One holder at a time: it renews the lease while it works; another process takes it once it has
 * expired, or at once when the holder is a dead process of this host (a `kill -9`, then a restart).
 * Times are this host's clock: the processes sharing a SQLite file share a host.
 */
export class DatabaseLease {
  readonly holder: string;
  readonly #name: string;
  readonly #ttlMs: number;
  readonly #claim: Statement<[{ name: string; holder: string; expires: number; now: number }]>;
  readonly #current: Statement<[string], { holder: string; expires_at: number }>;
  readonly #takeOver: Statement<[{ name: string; holder: string; expires: number; previous: string }]>;
  readonly #release: Statement<[string, string]>;
  #until = 0;

  readonly #database: ModuleDatabase;

  constructor(database: ModuleDatabase, name: string, ttlMs: number, holder = newLeaseHolder()) {
    this.#database = database;
    this.#name = name;
    this.#ttlMs = ttlMs;
    this.holder = holder;
    this.#claim = database.statement<[{ name: string; holder: string; expires: number; now: number }]>(
      `INSERT INTO kernel_leases (name, holder, expires_at) VALUES (@name, @holder, @expires)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE kernel_leases.holder = excluded.holder OR kernel_leases.expires_at <= @now`,
    );
    this.#current = database.statement<[string], { holder: string; expires_at: number }>(
      'SELECT holder, expires_at FROM kernel_leases WHERE name = ?',
    );
    this.#takeOver = database.statement<
      [{ name: string; holder: string; expires: number; previous: string }]
    >(
      `UPDATE kernel_leases SET holder = @holder, expires_at = @expires
       WHERE name = @name AND holder = @previous`,
    );
    this.#release = database.statement<[string, string]>(
      'DELETE FROM kernel_leases WHERE name = ? AND holder = ?',
    );
  }

  /**
   * True while this process holds the lease. Renews it once half its time has passed (one write),
   * and tries to take it when another holder's has expired or died.
   */
  async hold(now = Date.now()): Promise<boolean> {
    if (this.heldFresh(now)) return true;
    const expires = now + this.#ttlMs;
    const params = { name: this.#name, holder: this.holder, expires };
    const held = await this.#database.transaction(async () => {
      if ((await this.#claim.run({ ...params, now })) === 1) return true;
      const current = await this.#current.get(this.#name);
      return (
        current !== undefined &&
        holderIsDead(current.holder) &&
        (await this.#takeOver.run({ ...params, previous: current.holder })) === 1
      );
    });
    this.#until = held ? expires : 0;
    return held;
  }

  /**
   * True while this process holds the lease and needs no renewal yet: what `hold` answers without
   * a write, known at once (a caller on a hot path skips a promise).
   */
  heldFresh(now = Date.now()): boolean {
    return now < this.#until - this.#ttlMs / 2;
  }

  /** The current holder, if any holds an unexpired lease. */
  async holderNow(now = Date.now()): Promise<string | undefined> {
    const current = await this.#current.get(this.#name);
    return current && current.expires_at > now ? current.holder : undefined;
  }

  /** Gives the lease up (a clean stop), so another process takes it at once. */
  async release(): Promise<void> {
    this.#until = 0;
    await this.#database.transaction(() => this.#release.run(this.#name, this.holder));
  }
}
