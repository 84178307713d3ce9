/**
 * users: accounts, passwords and tokens.
 *
 * - Routes: POST /auth/register, POST /auth/login, GET /users/me 🔒, POST /users/me/password 🔒,
 *   POST /users/:id/role 🛡, DELETE /users/:id 🛡.
 * - Publishes: users.user-registered (on register, and when the configured admin is first created);
 *   users.account-changed (a password or role change, or a deletion: the account's token version
 *   is bumped). It is the catalogue's account feed (`accounts`): every process keeps a copy of the
 *   newest token version per account and refuses older tokens (docs/adr/0022).
 * - Handles: nothing (its own copy of the feed is written as it stages each change).
 * - Tables: users_users (emails stored lower-cased; passwords as scrypt N=2^17, r=8, p=1 hashes;
 *   token_version, carried by tokens as `ver`).
 * - Limits (limits.ts; counted in the kernel's rate-limit store, so across instances on Redis):
 *   - login counts failed attempts (401) only, per (account, client address) 5, per account from
 *     any address 20, per address over every account 50, in 15-minute windows; a spent budget
 *     answers 429 with retry-after (seconds until its window ends) before any hashing, whatever
 *     the password. Successful logins never count, and clear their (account, address) count; a
 *     503 USERS_BUSY does not count. Guessing is held back, a whole office behind one address or
 *     a load test signing in is not.
 *   - register: 10 attempts with a valid body per address an hour (a 503 is not counted): sign-up
 *     is anonymous and each one costs a full hash.
 *   - Settings: USERS_LOGIN_FAILURES_PER_ACCOUNT_IP, _PER_ACCOUNT, _PER_IP,
 *     USERS_LOGIN_FAILURE_WINDOW_SECONDS, USERS_REGISTER_PER_IP, USERS_REGISTER_WINDOW_SECONDS.
 * - Hashing (password.ts): two scrypt derivations at once per process (128 MiB each), reached by
 *   two lanes with their own queues: sign-ins (100 waiting, USERS_LOGIN_HASH_QUEUE) and sign-ups
 *   (one derivation at most, 10 waiting, USERS_REGISTER_HASH_QUEUE). Past its queue a lane answers
 *   503 USERS_BUSY with retry-after, so a sign-up flood is refused while logins keep a derivation.
 * - Sagas: none.
 * - Start: when ADMIN_EMAIL and ADMIN_PASSWORD are set, creates that admin account or keeps it
 *   (role admin, password updated only when it changed, which bumps its token version). The API
 *   does not demote or delete that account, nor an admin's own (409 USERS_ACCOUNT_PROTECTED).
 */
import { accountFeed, defineModule, type ModuleContext, perModule } from '../../kernel/index.js';
import { usersAdminRoutes } from './admin-routes.js';
import { seedAdmin } from './commands/seed-admin.js';
import { accountChanged, userRegistered } from './contracts.js';
import { usersErrors } from './errors.js';
import { hashingLanes } from './password.js';
import { usersRoutes } from './routes.js';
import { readUsersSettings, type UsersSettings } from './settings.js';

/** The process's hashing lanes, shared by the routes and the admin seed. */
const hashingOf = perModule((ctx: ModuleContext<UsersSettings>) => hashingLanes(ctx.settings.hashQueues));

export const usersModule = defineModule({
  name: 'users',
  errors: usersErrors,
  settings: readUsersSettings,
  http: {
    prefixes: ['/auth', '/users'],
    publicRoutes: [
      { method: 'POST', path: '/auth/register' },
      { method: 'POST', path: '/auth/login' },
    ],
  },
  messages: [userRegistered, accountChanged],
  // every process checks each token against its copy of these (docs/adr/0022)
  accounts: accountFeed(accountChanged, (data) => data),
  routes: (app, ctx) => {
    usersRoutes(app, ctx, hashingOf(ctx));
    usersAdminRoutes(app, ctx);
  },
  start: async (ctx) => {
    const { admin } = ctx.settings;
    if (admin === undefined) return;
    const outcome = await seedAdmin(ctx, hashingOf(ctx).signIn, admin);
    ctx.log.info({ email: admin.email, outcome }, 'admin account ensured');
  },
});
