import { ConfigError, type SettingsReader } from '../../kernel/index.js';
import type { AdminCredentials } from './commands/seed-admin.js';
import type { HashingQueues } from './password.js';

/** Failed sign-ins allowed in a window (see limits.ts for what counts). */
export interface LoginLimits {
  /** Per account (email) and client address: USERS_LOGIN_FAILURES_PER_ACCOUNT_IP. */
  readonly perAccountAndClient: number;
  /** Per account, from any address: USERS_LOGIN_FAILURES_PER_ACCOUNT. */
  readonly perAccount: number;
  /** Per client address, over every account: USERS_LOGIN_FAILURES_PER_IP. */
  readonly perClient: number;
  /** USERS_LOGIN_FAILURE_WINDOW_SECONDS. */
  readonly windowMs: number;
}

/** Sign-ups allowed per client address in a window. */
export interface RegisterLimits {
  /** USERS_REGISTER_PER_IP. */
  readonly perClient: number;
  /** USERS_REGISTER_WINDOW_SECONDS. */
  readonly windowMs: number;
}

export interface UsersSettings {
  /** The admin account ensured at start (ADMIN_EMAIL and ADMIN_PASSWORD), when both are set. */
  readonly admin: AdminCredentials | undefined;
  readonly login: LoginLimits;
  readonly register: RegisterLimits;
  /** Derivations that may wait per hashing lane (USERS_LOGIN_HASH_QUEUE, USERS_REGISTER_HASH_QUEUE). */
  readonly hashQueues: HashingQueues;
}

/** The defaults, as README's configuration table and .env.example list them. */
const USERS_DEFAULTS = {
  loginFailuresPerAccountAndIp: 5,
  loginFailuresPerAccount: 20,
  loginFailuresPerIp: 50,
  loginFailureWindowSeconds: 15 * 60,
  registerPerIp: 10,
  registerWindowSeconds: 60 * 60,
  loginHashQueue: 100,
  registerHashQueue: 10,
} as const;

const MAX_COUNT = 1_000_000;
const MAX_WINDOW_SECONDS = 7 * 24 * 60 * 60;
const MAX_QUEUE = 10_000;

export function readUsersSettings(read: SettingsReader): UsersSettings {
  const d = USERS_DEFAULTS;
  const count = (variable: string, fallback: number) => read.integer(variable, fallback, 1, MAX_COUNT);
  const windowMs = (variable: string, fallback: number) =>
    read.integer(variable, fallback, 1, MAX_WINDOW_SECONDS) * 1000;
  return {
    admin: readAdmin(read),
    login: {
      perAccountAndClient: count('USERS_LOGIN_FAILURES_PER_ACCOUNT_IP', d.loginFailuresPerAccountAndIp),
      perAccount: count('USERS_LOGIN_FAILURES_PER_ACCOUNT', d.loginFailuresPerAccount),
      perClient: count('USERS_LOGIN_FAILURES_PER_IP', d.loginFailuresPerIp),
      windowMs: windowMs('USERS_LOGIN_FAILURE_WINDOW_SECONDS', d.loginFailureWindowSeconds),
    },
    register: {
      perClient: count('USERS_REGISTER_PER_IP', d.registerPerIp),
      windowMs: windowMs('USERS_REGISTER_WINDOW_SECONDS', d.registerWindowSeconds),
    },
    hashQueues: {
      // 0: no waiting, a derivation runs at once or is refused
      signIn: read.integer('USERS_LOGIN_HASH_QUEUE', d.loginHashQueue, 0, MAX_QUEUE),
      signUp: read.integer('USERS_REGISTER_HASH_QUEUE', d.registerHashQueue, 0, MAX_QUEUE),
    },
  };
}

/** Half an admin account is a mistake, not "no admin": refused, naming the missing variable. */
function readAdmin(read: SettingsReader): AdminCredentials | undefined {
  const email = read.optional('ADMIN_EMAIL');
  const password = read.optional('ADMIN_PASSWORD');
  if ((email === undefined) !== (password === undefined)) {
    throw new ConfigError(
      email ? 'ADMIN_PASSWORD' : 'ADMIN_EMAIL',
      'set both ADMIN_EMAIL and ADMIN_PASSWORD, or neither',
    );
  }
  return email === undefined || password === undefined ? undefined : { email, password };
}
