/**
 * users: accounts, passwords and tokens.
 *
 * - Routes: POST /auth/register, POST /auth/login (rate limited per IP), GET /users/me 🔒.
 * - Publishes: users.user-registered (on register, and when the configured admin is first created).
 * - Handles: nothing.
 * - Tables: users_users (emails stored lower-cased; passwords as scrypt N=2^17, r=8, p=1 hashes).
 * - Hashing: two scrypt derivations at once (128 MiB each), 100 waiting; past that, register and
 *   login answer 503 USERS_BUSY with retry-after (password.ts).
 * - Sagas: none.
 * - Start: when ADMIN_EMAIL and ADMIN_PASSWORD are set, creates that admin account or keeps it
 *   (role admin, password updated only when it changed).
 */
import { defineModule } from '../../kernel/index.js';
import { seedAdmin } from './commands/seed-admin.js';
import { userRegistered } from './contracts.js';
import { usersRoutes } from './routes.js';
import { readUsersSettings } from './settings.js';

export const usersModule = defineModule({
  name: 'users',
  settings: readUsersSettings,
  http: {
    prefixes: ['/auth', '/users'],
    publicRoutes: [
      { method: 'POST', path: '/auth/register' },
      { method: 'POST', path: '/auth/login' },
    ],
  },
  messages: [userRegistered],
  routes: usersRoutes,
  start: async (ctx) => {
    const { admin } = ctx.settings;
    if (admin === undefined) return;
    const outcome = await seedAdmin(ctx, admin);
    ctx.log.info({ email: admin.email, outcome }, 'admin account ensured');
  },
});
