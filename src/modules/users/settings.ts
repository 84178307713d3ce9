import { ConfigError, type SettingsReader } from '../../kernel/index.js';
import type { AdminCredentials } from './commands/seed-admin.js';

export interface UsersSettings {
  /** The admin account ensured at start (ADMIN_EMAIL and ADMIN_PASSWORD), when both are set. */
  readonly admin: AdminCredentials | undefined;
}

/** Half an admin account is a mistake, not "no admin": refused, naming the missing variable. */
export function readUsersSettings(read: SettingsReader): UsersSettings {
  const email = read.optional('ADMIN_EMAIL');
  const password = read.optional('ADMIN_PASSWORD');
  if ((email === undefined) !== (password === undefined)) {
    throw new ConfigError(
      email ? 'ADMIN_PASSWORD' : 'ADMIN_EMAIL',
      'set both ADMIN_EMAIL and ADMIN_PASSWORD, or neither',
    );
  }
  return { admin: email === undefined || password === undefined ? undefined : { email, password } };
}
