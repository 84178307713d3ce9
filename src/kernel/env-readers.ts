/**
 * Validating readers of environment variables, shared by the kernel's configuration (config.ts)
 * and the modules' own settings (`ModuleDefinition.settings`), so every variable fails the same
 * way: one ConfigError naming it.
 */

/** A configuration problem: reported as one line naming the variable, then exit code 1. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads variables of one environment. Every reader trims the value and treats an unset or blank
 * variable as absent (the fallback); a present but invalid value throws a ConfigError naming the
 * variable, whose message says what is allowed and what was given.
 */
export interface SettingsReader {
  /** The value, or undefined when unset or blank. */
  optional(variable: string): string | undefined;
  /** One of `allowed`: `must be one of a, b (got "x")`. */
  oneOf<T extends string>(variable: string, allowed: readonly T[], fallback: T): T;
  /** An integer from min to max inclusive: `must be an integer from 1 to 10 (got "x")`. */
  integer(variable: string, fallback: number, min: number, max: number): number;
  /** A URL with one of `protocols` (e.g. `'redis:'`): `is not a URL` or `must start with redis: (got "x")`. */
  url(variable: string, fallback: string, protocols: readonly string[]): string;
  /**
   * A comma-separated list of URLs, each checked as `url` does; an error names the entry when
   * there are several (`entry 2 of 3 is not a URL (got "x")`). A comma inside a URL (in a
   * password) must be percent-encoded as %2C.
   */
  urlList(variable: string, fallback: string, protocols: readonly string[]): [string, ...string[]];
}

export function readSettings(env: Env): SettingsReader {
  return {
    optional: (variable) => nonEmpty(env[variable]),
    oneOf: (variable, allowed, fallback) => oneOf(env, variable, allowed, fallback),
    integer: (variable, fallback, min, max) => integer(env, variable, fallback, min, max),
    url: (variable, fallback, protocols) =>
      checkedUrl(variable, nonEmpty(env[variable]) ?? fallback, protocols),
    urlList: (variable, fallback, protocols) => urlList(env, variable, fallback, protocols),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function oneOf<T extends string>(env: Env, variable: string, allowed: readonly T[], fallback: T): T {
  const value = nonEmpty(env[variable]) ?? fallback;
  const found = allowed.find((candidate) => candidate === value);
  if (found === undefined) {
    throw new ConfigError(variable, `must be one of ${allowed.join(', ')} (got "${value}")`);
  }
  return found;
}

function integer(env: Env, variable: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env[variable]);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(variable, `must be an integer from ${min} to ${max} (got "${raw}")`);
  }
  return value;
}

/** `value` when it parses as a URL with one of `protocols`; `entry` says which entry of a list it is. */
function checkedUrl(variable: string, value: string, protocols: readonly string[], entry = ''): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(variable, `${entry}is not a URL (got "${maskPassword(value)}")`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(
      variable,
      `${entry}must start with ${protocols.join(' or ')} (got "${maskPassword(value)}")`,
    );
  }
  return value;
}

function urlList(
  env: Env,
  variable: string,
  fallback: string,
  protocols: readonly string[],
): [string, ...string[]] {
  const [first = '', ...rest] = (nonEmpty(env[variable]) ?? fallback).split(',');
  const count = rest.length + 1;
  const check = (raw: string, i: number): string => {
    const entry = count > 1 ? `entry ${i + 1} of ${count} ` : '';
    const value = raw.trim();
    if (value === '') throw new ConfigError(variable, `${entry}is empty (a comma-separated list of URLs)`);
    return checkedUrl(variable, value, protocols, entry);
  };
  return [check(first, 0), ...rest.map((raw, i) => check(raw, i + 1))];
}

/**
 * `scheme://user:password@…` with the password masked, also in a URL that does not parse (so an
 * error about it can still show what is wrong, such as the port). Greedy up to the last `@`: a
 * password with a raw `@` is masked whole, at worst with some of the host.
 */
export function maskPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):.*@/i, '$1:***@');
}
