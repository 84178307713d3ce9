import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { ConfigError, type Env, maskPassword, readSettings, type SettingsReader } from './env-readers.js';
import type { TransportName } from './messaging/transport.js';
import { DEFAULT_PARTITIONS, MAX_PARTITIONS } from './messaging/transports/partition.js';
import type { Durability } from './persistence/db.js';

export { ConfigError } from './env-readers.js';

export interface Config {
  readonly nodeEnv: string;
  readonly transport: TransportName;
  /** Modules this process runs. */
  readonly modules: readonly string[];
  /** Every module this build ships (MODULES picks among them; a gateway proxies the others). */
  readonly availableModules: readonly string[];
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /**
   * What a commit survives (DB_DURABILITY): `process` (default) a killed process, `power` also a
   * power loss (an fsync per commit). See persistence/db.ts.
   */
  readonly dbDurability: Durability;
  /**
   * The PostgreSQL URL of each module that keeps its state there (DATABASE_URL_<MODULE>, else
   * DATABASE_URL); a module without one keeps a SQLite file in DATA_DIR. With the variable that
   * set it, for error lines. See persistence/open.ts.
   */
  readonly databases: Readonly<Record<string, PostgresLocation>>;
  readonly redisUrl: string;
  /**
   * The RabbitMQ nodes (AMQP_URL, comma separated), in the order they are tried: the transport
   * connects to the first that answers and fails over to another when its connection is lost.
   */
  readonly amqpUrls: readonly [string, ...string[]];
  readonly jwtSecret: string;
  /** True when JWT_SECRET was not set and a random one was made for this run. */
  readonly jwtSecretGenerated: boolean;
  readonly logLevel: string;
  readonly sagaStepTimeoutMs: number;
  /**
   * How long each module database keeps an inbox record (INBOX_RETENTION_HOURS): the window in
   * which a redelivered message is recognised and skipped. Older records are pruned.
   */
  readonly inboxRetentionMs: number;
  /**
   * How long each module database keeps a published outbox row (OUTBOX_RETENTION_MINUTES), for
   * `/admin/outbox` and for inspection; a pending row is never pruned.
   */
  readonly outboxRetentionMs: number;
  /** Prefix of every broker queue, exchange and key, so several deployments can share a broker. */
  readonly busNamespace: string;
  /**
   * Partitions per consumer on the brokers (BUS_PARTITIONS): how many instances of a consumer can
   * work at once, each key in one partition. The same for every process of a deployment: a
   * process that finds a consumer created with another count refuses to start.
   */
  readonly busPartitions: number;
  readonly rabbitmqQueueType: 'classic' | 'quorum';
  /**
   * Service registry in Redis (REDIS_URL): on by default when the transport is a broker or
   * REDIS_URL is set; `SERVICE_REGISTRY=off|on` overrides.
   */
  readonly serviceRegistry: boolean;
  /** The base URL other processes reach this one at (SERVICE_ADVERTISE_URL; default from HOST and the port). */
  readonly serviceAdvertiseUrl: string | undefined;
  /** Where rate-limit counters live: `redis` (shared by every instance) by default on a broker transport. */
  readonly rateLimitStore: 'memory' | 'redis';
  /** Proxies whose X-Forwarded-For is believed (TRUST_PROXY: addresses or CIDRs, comma separated). */
  readonly trustProxy: string | undefined;
  /**
   * Where OpenTelemetry traces are exported over OTLP/HTTP (OTEL_EXPORTER_OTLP_ENDPOINT, the base
   * URL: `/v1/traces` is appended). Unset: no SDK is registered, the kernel's spans are no-ops and
   * only a received `traceparent` is carried on (observability/tracing.ts).
   */
  readonly otlpEndpoint: string | undefined;
  /** When state-changing module routes answer 503 instead of taking more work (README "Backpressure"). */
  readonly backpressure: BackpressureBounds;
  /**
   * A copy of the variables loadConfig read: each running module reads its own settings from it
   * at start (`ModuleDefinition.settings`), so they come from the same environment.
   */
  readonly env: Env;
}

/**
 * How far behind this process may fall before its commands are refused (503 HTTP_BACKPRESSURE):
 * each bound is a count of messages, 0 turns it off.
 */
/** Where a module's PostgreSQL database is, and which variable said so. */
export interface PostgresLocation {
  readonly url: string;
  readonly variable: string;
}

export interface BackpressureBounds {
  /** BACKPRESSURE_OUTBOX_PENDING_MAX: committed, unpublished messages in one module's outbox. */
  readonly outboxPendingMax: number;
  /** BACKPRESSURE_CONSUMER_LAG_MAX: messages on their way to one consumer of this process, not yet handled. */
  readonly consumerLagMax: number;
}

/**
 * The default of both bounds. The outbox drains within milliseconds of a commit, and 1000 orders
 * sent as fast as 32 clients can (the benchmark's maximum) left at most 743 messages waiting for
 * one consumer (BullMQ, on a busy 2-core machine; 81 on memory): 10 000 is met only by work that
 * is really stuck.
 */
export const DEFAULT_BACKPRESSURE_MAX = 10_000;
const MAX_BACKPRESSURE_BOUND = 1_000_000_000;

const TRANSPORTS: readonly TransportName[] = ['memory', 'bullmq', 'rabbitmq'];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/**
 * Reads and validates the kernel's configuration (CONTRACT section 2). Throws ConfigError. A
 * module's own variables are read by its `settings`, when the module runs.
 */
export function loadConfig(env: Env, availableModules: readonly string[]): Config {
  const read = readSettings(env);
  const nodeEnv = env.NODE_ENV ?? 'development';
  const transport = read.oneOf('TRANSPORT', TRANSPORTS, 'memory');
  const secret = env.JWT_SECRET;
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    throw new ConfigError('JWT_SECRET', 'must be at least 32 bytes');
  }
  if (secret === undefined && nodeEnv === 'production') {
    throw new ConfigError('JWT_SECRET', 'is required when NODE_ENV=production (at least 32 bytes)');
  }
  if (secret === undefined && transport !== 'memory') {
    // A random secret per process would make every process refuse the tokens the others issue.
    throw new ConfigError(
      'JWT_SECRET',
      `is required on the ${transport} transport: every process of a deployment must share it (at least 32 bytes)`,
    );
  }
  return {
    nodeEnv,
    transport,
    modules: moduleList(read.optional('MODULES'), availableModules),
    availableModules: [...availableModules],
    port: read.integer('PORT', 3000, 0, 65535),
    host: read.optional('HOST') ?? '127.0.0.1',
    dataDir: read.optional('DATA_DIR') ?? './data',
    dbDurability: read.oneOf('DB_DURABILITY', ['process', 'power'] as const, 'process'),
    databases: databaseLocations(env, read, availableModules),
    redisUrl: redisDatabase(read.url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:'])),
    amqpUrls: read.urlList('AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672', ['amqp:', 'amqps:']),
    jwtSecret: secret ?? randomBytes(32).toString('base64url'),
    jwtSecretGenerated: secret === undefined,
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    sagaStepTimeoutMs: read.integer('SAGA_STEP_TIMEOUT_MS', 30_000, 1, 86_400_000),
    inboxRetentionMs: read.integer('INBOX_RETENTION_HOURS', 168, 1, 87_600) * HOUR_MS,
    outboxRetentionMs: read.integer('OUTBOX_RETENTION_MINUTES', 10, 0, 525_600) * MINUTE_MS,
    busNamespace: namespace(read.optional('BUS_NAMESPACE')),
    busPartitions: read.integer('BUS_PARTITIONS', DEFAULT_PARTITIONS, 1, MAX_PARTITIONS),
    rabbitmqQueueType: read.oneOf('RABBITMQ_QUEUE_TYPE', ['classic', 'quorum'] as const, 'classic'),
    ...distribution(read, transport),
    otlpEndpoint: optionalUrl(read, 'OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']),
    backpressure: {
      outboxPendingMax: read.integer(
        'BACKPRESSURE_OUTBOX_PENDING_MAX',
        DEFAULT_BACKPRESSURE_MAX,
        0,
        MAX_BACKPRESSURE_BOUND,
      ),
      consumerLagMax: read.integer(
        'BACKPRESSURE_CONSUMER_LAG_MAX',
        DEFAULT_BACKPRESSURE_MAX,
        0,
        MAX_BACKPRESSURE_BOUND,
      ),
    },
    env: { ...env },
  };
}

function optionalUrl(
  read: SettingsReader,
  variable: string,
  protocols: readonly string[],
): string | undefined {
  const value = read.optional(variable);
  return value === undefined ? undefined : read.url(variable, value, protocols);
}

type Distribution = Pick<Config, 'serviceRegistry' | 'serviceAdvertiseUrl' | 'rateLimitStore' | 'trustProxy'>;

/** The settings of a split deployment: registry, shared rate limits, proxies. */
function distribution(read: SettingsReader, transport: TransportName): Distribution {
  const broker = transport !== 'memory';
  const registry = read.oneOf('SERVICE_REGISTRY', ['auto', 'on', 'off'] as const, 'auto');
  const advertise = read.optional('SERVICE_ADVERTISE_URL');
  return {
    serviceRegistry:
      registry === 'auto' ? broker || read.optional('REDIS_URL') !== undefined : registry === 'on',
    serviceAdvertiseUrl:
      advertise === undefined ? undefined : read.url('SERVICE_ADVERTISE_URL', advertise, ['http:', 'https:']),
    rateLimitStore: read.oneOf('RATE_LIMIT_STORE', ['memory', 'redis'] as const, broker ? 'redis' : 'memory'),
    trustProxy: proxies(read.optional('TRUST_PROXY')),
  };
}

const POSTGRES_PROTOCOLS = ['postgres:', 'postgresql:'];

/**
 * DATABASE_URL for every module, DATABASE_URL_<MODULE> for one (it wins). A suffix naming no module
 * of this build is refused: a typo would otherwise leave that module on SQLite without a word.
 */
function databaseLocations(
  env: Env,
  read: SettingsReader,
  availableModules: readonly string[],
): Record<string, PostgresLocation> {
  const prefix = 'DATABASE_URL_';
  for (const variable of Object.keys(env)) {
    if (!variable.startsWith(prefix) || read.optional(variable) === undefined) continue;
    const module = variable.slice(prefix.length).toLowerCase();
    if (!availableModules.includes(module)) {
      throw new ConfigError(variable, `names no module (one of ${availableModules.join(', ')}, in capitals)`);
    }
  }
  const locations: Record<string, PostgresLocation> = {};
  const shared = read.optional('DATABASE_URL');
  for (const module of availableModules) {
    const own = `${prefix}${module.toUpperCase()}`;
    const variable =
      read.optional(own) !== undefined ? own : shared !== undefined ? 'DATABASE_URL' : undefined;
    if (variable === undefined) continue;
    locations[module] = { url: read.url(variable, '', POSTGRES_PROTOCOLS), variable };
  }
  return locations;
}

function proxies(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map((part) => part.trim());
  for (const part of parts) {
    const [address = '', bits, ...rest] = part.split('/');
    const version = isIP(address);
    const maxBits = version === 6 ? 128 : 32;
    const badBits = bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= maxBits);
    if (version === 0 || badBits || rest.length > 0) {
      throw new ConfigError('TRUST_PROXY', `must be IP addresses or CIDRs, comma separated (got "${part}")`);
    }
  }
  return parts.join(',');
}

function namespace(raw: string | undefined): string {
  const value = raw ?? 'modulith';
  if (!/^[a-z0-9][a-z0-9_-]{0,39}$/.test(value)) {
    throw new ConfigError('BUS_NAMESPACE', `must be 1-40 characters of a-z, 0-9, _ or - (got "${value}")`);
  }
  return value;
}

function moduleList(value: string | undefined, available: readonly string[]): string[] {
  if (value === undefined || value === 'all') return [...available];
  const names = [
    ...new Set(
      value
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean),
    ),
  ];
  if (names.length === 0) throw new ConfigError('MODULES', 'names no module');
  for (const name of names) {
    if (!available.includes(name)) {
      throw new ConfigError(
        'MODULES',
        `unknown module "${name}" (available: ${available.join(', ') || 'none'})`,
      );
    }
  }
  return names;
}

/** ioredis takes the URL's path for a database number; any other path crashes it (SELECT NaN). */
function redisDatabase(url: string): string {
  const path = new URL(url).pathname;
  if (path === '' || path === '/' || /^\/\d+$/.test(path)) return url;
  throw new ConfigError('REDIS_URL', `the path must be a database number such as /0 (got ${redactUrl(url)})`);
}

/** URLs with their passwords masked, comma separated as AMQP_URL lists them, for logs and errors. */
export const redactUrls = (urls: readonly string[]): string => urls.map(redactUrl).join(', ');

/** The URL with its password masked, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return maskPassword(url);
  }
}
