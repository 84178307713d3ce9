/**
 * deploy/split.json, read and checked, and the processes it describes (scripts/start-split.ts).
 *
 * { "env": { VAR: value, … },                      defaults for every process
 *   "processes": { "<name>": { "modules": [...], "port": 3101, "instances": 1, "env": { … } } } }
 *
 * Instance i (from 1) of an entry with `instances: n > 1` is named `<name>-<i>` and listens on
 * port + i - 1. `{instance}` in an entry's env values becomes the instance's name, e.g.
 * `"DATA_DIR": "./data/{instance}"`: instances of a module on PostgreSQL need no shared directory.
 */

export interface ProcessEntry {
  readonly modules: readonly string[];
  readonly port: number;
  readonly instances: number;
  readonly env: Readonly<Record<string, string>>;
}

export interface Manifest {
  readonly env: Readonly<Record<string, string>>;
  readonly processes: Readonly<Record<string, ProcessEntry>>;
}

export interface ProcessPlan {
  readonly name: string;
  readonly url: string;
  /** The variables this process gets on top of the supervisor's environment. */
  readonly env: Record<string, string>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringRecord(value: unknown, where: string): Record<string, string> {
  if (value === undefined) return {};
  if (!isRecord(value)) throw new Error(`${where} must be an object of strings`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new Error(`${where}.${key} must be a string`);
  }
  return value as Record<string, string>;
}

export function parseManifest(value: unknown): Manifest {
  if (!isRecord(value) || !isRecord(value.processes)) throw new Error('"processes" must be an object');
  const processes: Record<string, ProcessEntry> = {};
  for (const [name, raw] of Object.entries(value.processes)) {
    const where = `processes.${name}`;
    if (!/^[a-z][a-z0-9-]{0,30}$/.test(name)) throw new Error(`${where}: names are a-z, 0-9 and -`);
    if (!isRecord(raw)) throw new Error(`${where} must be an object`);
    const { modules, port, instances = 1 } = raw;
    if (!Array.isArray(modules) || modules.length === 0 || !modules.every((m) => typeof m === 'string')) {
      throw new Error(`${where}.modules must be a non-empty list of module names`);
    }
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`${where}.port must be a port number`);
    }
    if (typeof instances !== 'number' || !Number.isInteger(instances) || instances < 1 || instances > 16) {
      throw new Error(`${where}.instances must be an integer from 1 to 16`);
    }
    processes[name] = { modules, port, instances, env: stringRecord(raw.env, `${where}.env`) };
  }
  if (Object.keys(processes).length === 0) throw new Error('"processes" names no process');
  return { env: stringRecord(value.env, 'env'), processes };
}

/** One plan per instance: its name, URL and environment. Ports must not collide. */
export function planProcesses(
  manifest: Manifest,
  shell: Readonly<Record<string, string | undefined>>,
): ProcessPlan[] {
  const plans: ProcessPlan[] = [];
  const ports = new Map<number, string>();
  for (const [name, entry] of Object.entries(manifest.processes)) {
    for (let i = 1; i <= entry.instances; i++) {
      const instance = entry.instances > 1 ? `${name}-${i}` : name;
      const port = entry.port + i - 1;
      const taken = ports.get(port);
      if (taken) throw new Error(`${instance} and ${taken} both use port ${port}`);
      ports.set(port, instance);
      const env: Record<string, string> = { ...manifest.env };
      for (const key of Object.keys(env)) {
        const fromShell = shell[key];
        if (fromShell !== undefined && fromShell !== '') env[key] = fromShell;
      }
      for (const [key, value] of Object.entries(entry.env))
        env[key] = value.replaceAll('{instance}', instance);
      Object.assign(env, { MODULES: entry.modules.join(','), PORT: String(port) });
      const host = env.HOST || shell.HOST || '127.0.0.1';
      plans.push({ name: instance, url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`, env });
    }
  }
  return plans;
}

const PALETTE = [36, 33, 35, 32, 34, 91, 96, 93, 95, 92];
const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** `text` in the colour of `key` (the same key, the same colour), when colours are on. */
export function paint(text: string, key: string, colours: boolean): string {
  if (!colours) return text;
  let hash = 0;
  for (const char of key) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return `\u001b[${PALETTE[hash % PALETTE.length]}m${text}\u001b[0m`;
}

const QUIET_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

/** A pino JSON line as `HH:MM:SS.mmm LEVEL msg {other fields}`; any other line as it is. */
export function formatLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (!isRecord(entry) || typeof entry.msg !== 'string') return line;
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
  const level = typeof entry.level === 'number' ? (LEVELS[entry.level] ?? String(entry.level)) : '';
  const rest = Object.fromEntries(Object.entries(entry).filter(([key]) => !QUIET_FIELDS.has(key)));
  const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
  return `${time} ${level.padEnd(5)} ${entry.msg}${extra}`;
}
