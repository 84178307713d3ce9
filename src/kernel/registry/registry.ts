/**
 * The service registry: which process runs which modules, where, and how healthy it is, in Redis
 * (REDIS_URL), so a gateway can find the instances of a module. Each process writes its record
 * under its own key with a TTL and renews it (heartbeat); a process that dies disappears when its
 * key expires; a clean shutdown deletes it at once.
 *
 * Keys (prefix = BUS_NAMESPACE): `<ns>:registry:instance:<id>` (JSON, PX ttl) and
 * `<ns>:registry:index` (sorted set of ids by last heartbeat, for listing without SCAN).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import { within, withTimeout } from '../time.js';

export type InstanceStatus = 'pass' | 'fail';

/** One running process, as registered. */
export interface ServiceInstance {
  readonly id: string;
  /** The modules it runs (its MODULES). */
  readonly modules: readonly string[];
  /** Base URL other processes reach it at (`http://127.0.0.1:3101`). */
  readonly url: string;
  readonly pid: number;
  readonly host: string;
  readonly transport: string;
  readonly startedAt: string;
  readonly heartbeatAt: string;
  /** Its readiness at the last heartbeat (databases, transport, subscriptions). */
  readonly status: InstanceStatus;
  readonly checks: Readonly<Record<string, { readonly status: string; readonly detail?: string }>>;
}

export type InstanceDescription = Omit<ServiceInstance, 'id' | 'heartbeatAt'>;

export interface RegistryOptions {
  readonly redisUrl: string;
  readonly namespace: string;
  readonly log: Logger;
  /** Heartbeat period (default 2 s). */
  readonly heartbeatMs?: number;
  /** A record lives this long without a heartbeat (default 3 heartbeats). */
  readonly ttlMs?: number;
}

export const DEFAULT_HEARTBEAT_MS = 2000;

export function newInstanceId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

function isInstance(value: unknown): value is ServiceInstance {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.id === 'string' &&
    typeof v.url === 'string' &&
    Array.isArray(v.modules) &&
    v.modules.every((m) => typeof m === 'string') &&
    (v.status === 'pass' || v.status === 'fail')
  );
}

/**
 * A process's link to the registry: `start` registers it and heartbeats, `stop` deregisters it,
 * `list` reads every live record (the gateway and `GET /admin/services`).
 */
export class ServiceRegistry {
  readonly id = newInstanceId();
  readonly heartbeatMs: number;
  readonly ttlMs: number;
  readonly #redis: Redis;
  readonly #log: Logger;
  readonly #prefix: string;
  #timer: NodeJS.Timeout | undefined;
  #describe: (() => Promise<InstanceDescription>) | undefined;
  #beating: Promise<void> | undefined;
  #lastWarning = 0;
  #registered = false;
  #closed = false;

  constructor(options: RegistryOptions) {
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.ttlMs = options.ttlMs ?? 3 * this.heartbeatMs;
    this.#log = options.log;
    this.#prefix = `${options.namespace}:registry`;
    this.#redis = new Redis(options.redisUrl, {
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      connectionName: `${options.namespace}:registry:${process.pid}`,
      retryStrategy: (times) => Math.min(200 * times, 2000),
    });
    this.#redis.on('error', (error: Error) => this.#warn(error, 'service registry: Redis unavailable'));
  }

  #key(id: string): string {
    return `${this.#prefix}:instance:${id}`;
  }

  get #index(): string {
    return `${this.#prefix}:index`;
  }

  /** Registers this process now and renews its record every heartbeat until `stop`. */
  start(describe: () => Promise<InstanceDescription>): void {
    this.#describe = describe;
    this.#beat();
    this.#timer = setInterval(() => this.#beat(), this.heartbeatMs);
    this.#timer.unref();
  }

  /** Resolves after the next heartbeat has been written (or has failed). */
  async heartbeat(): Promise<void> {
    this.#beat();
    await this.#beating;
  }

  #beat(): void {
    const describe = this.#describe;
    if (!describe || this.#closed || this.#beating) return;
    this.#beating = (async () => {
      try {
        const record: ServiceInstance = {
          ...(await withTimeout(
            describe(),
            this.heartbeatMs * 2,
            `describing this instance took over ${this.heartbeatMs * 2} ms`,
          )),
          id: this.id,
          heartbeatAt: new Date().toISOString(),
        };
        if (this.#closed) return;
        const now = Date.now();
        await this.#redis
          .multi()
          .set(this.#key(this.id), JSON.stringify(record), 'PX', this.ttlMs)
          .zadd(this.#index, now, this.id)
          .zremrangebyscore(this.#index, '-inf', now - Math.max(300_000, 10 * this.ttlMs))
          .exec();
        if (!this.#registered) {
          this.#registered = true;
          this.#log.info(
            { id: this.id, url: record.url, modules: record.modules },
            'registered in the service registry',
          );
        }
      } catch (error) {
        this.#warn(error, 'service registry: heartbeat failed');
      } finally {
        this.#beating = undefined;
      }
    })();
  }

  /** Every instance with a live record (heartbeat within the TTL), this one included. */
  async list(): Promise<ServiceInstance[]> {
    // the index only narrows the read; a record's own TTL decides whether it is live
    const ids = await this.#redis.zrangebyscore(
      this.#index,
      Date.now() - Math.max(30_000, 2 * this.ttlMs),
      '+inf',
    );
    if (ids.length === 0) return [];
    const values = await this.#redis.mget(ids.map((id) => this.#key(id)));
    const instances: ServiceInstance[] = [];
    for (const value of values) {
      if (value === null) continue;
      try {
        const parsed: unknown = JSON.parse(value);
        if (isInstance(parsed)) instances.push(parsed);
      } catch {
        // a foreign or broken record: not an instance
      }
    }
    return instances;
  }

  /** Deregisters (so gateways stop routing here at once) and closes the connection. Idempotent. */
  async stop(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#beating;
    if (this.#registered && this.#redis.status === 'ready') {
      await within(
        this.#redis.multi().del(this.#key(this.id)).zrem(this.#index, this.id).exec(),
        1000,
        () => undefined,
      ).catch(() => {});
      this.#log.info({ id: this.id }, 'deregistered from the service registry');
    }
    if (this.#redis.status === 'ready') {
      await within(
        this.#redis.quit().catch(() => {}),
        1000,
        () => undefined,
      );
    }
    this.#redis.disconnect();
  }

  #warn(error: unknown, message: string): void {
    if (this.#closed || Date.now() - this.#lastWarning < 10_000) return;
    this.#lastWarning = Date.now();
    this.#log.warn({ err: error }, message);
  }
}
