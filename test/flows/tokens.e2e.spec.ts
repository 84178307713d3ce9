/**
 * Tokens across the modules of one process (every module, memory transport, real SQLite): a
 * deleted user's token no longer deposits, a demoted admin no longer adds products, and a changed
 * password retires older tokens, on the other modules' routes as soon as the users route answers;
 * every other module keeps its own copy of the account versions (consumer
 * `<module>.account-versions`), and tokens of unchanged accounts flow as before.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, moduleCatalogue } from '../../src/app.js';
import { type HttpApp, loadConfig } from '../../src/kernel/index.js';
import { eventually } from '../../src/kernel/testing/index.js';
import { AccountsClient, bearer, expectRevoked } from '../../src/modules/users/testing/accounts-client.js';

const ADMIN = { email: 'admin@tokens.test', password: 'admin-password-1' };
const PASSWORD = 'user-password-1';

let app: HttpApp;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'tokens-flow-'));
  const env = {
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
  };
  app = await buildApp(
    loadConfig(
      env,
      moduleCatalogue.map((m) => m.name),
    ),
  );
});
afterAll(async () => {
  await app?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const accounts = new AccountsClient(() => app, 'tokens.test', PASSWORD);
const deposit = (token: string) =>
  app.inject({
    method: 'POST',
    url: '/payments/deposits',
    payload: { amountCents: 100 },
    headers: bearer(token),
  });
const addProduct = (token: string, sku: string) =>
  app.inject({
    method: 'POST',
    url: '/inventory/products',
    payload: { sku, name: sku, priceCents: 100, stock: 1 },
    headers: bearer(token),
  });

/** A new account, signed in. */
async function register(name: string): Promise<{ id: string; email: string; token: string }> {
  const account = await accounts.register(name);
  return { ...account, token: await accounts.login(account.email) };
}

/** What one module's database holds of an account: its copy of the version. */
function copyIn(module: string, userId: string) {
  const db = app.kernel.modules.find((m) => m.definition.name === module)?.context.db;
  if (!db) throw new Error(`${module} is not running`);
  return db.get<{ token_version: number; deleted: number }>(
    sql`SELECT token_version, deleted FROM kernel_accounts WHERE user_id = ${userId}`,
  );
}

describe('tokens across the modules of one process', () => {
  let admin: string;
  beforeAll(async () => {
    admin = await accounts.login(ADMIN.email, ADMIN.password);
  });

  it("refuses a deleted user's token for a deposit, at once; other users deposit as before", async () => {
    const [ann, ben] = [await register('ann'), await register('ben')];
    expect((await deposit(ann.token)).statusCode).toBe(201);
    const deleted = await accounts.remove(admin, ann.id);
    expect(deleted.statusCode).toBe(204);
    expectRevoked(await deposit(ann.token));
    expect((await deposit(ben.token)).statusCode).toBe(201);
    // every other module keeps its own copy, through its consumer: what a process without users reads
    await eventually(() => expect(copyIn('payments', ann.id)).toEqual({ token_version: 1, deleted: 1 }));
    expect(app.kernel.consumers().map((c) => c.name)).toContain('payments.account-versions');
  });

  it('refuses a demoted admin on an admin route of another module, at once', async () => {
    const cleo = await register('cleo');
    const promote = (role: string) => accounts.setRole(admin, cleo.id, role);
    expect((await promote('admin')).statusCode).toBe(200);
    const asAdmin = await accounts.login(cleo.email);
    expect((await addProduct(asAdmin, 'lamp')).statusCode).toBe(201);
    expect((await promote('user')).statusCode).toBe(200);
    expectRevoked(await addProduct(asAdmin, 'desk'));
    expectRevoked(await app.inject({ url: '/analytics/summary', headers: bearer(asAdmin) }));
    const asUser = await accounts.login(cleo.email);
    expect((await addProduct(asUser, 'desk')).json()).toMatchObject({ status: 403, code: 'AUTH_ADMIN_ONLY' });
    expect((await deposit(asUser)).statusCode).toBe(201); // a user again, with a user's rights
  });

  it("retires a user's older tokens on a password change; the new token deposits", async () => {
    const dan = await register('dan');
    const changed = await accounts.changePassword(dan.token, PASSWORD, 'another-password');
    expect(changed.statusCode, changed.body).toBe(200);
    expectRevoked(await deposit(dan.token));
    expect((await deposit(changed.json().token)).statusCode).toBe(201);
    expect((await deposit(await accounts.login(dan.email, 'another-password'))).statusCode).toBe(201);
  });
});
