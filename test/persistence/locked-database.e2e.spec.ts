import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpApp, loadConfig } from '../../src/kernel/index.js';
import { createHost } from '../../src/kernel/testing/index.js';
import { inventoryModule } from '../../src/modules/inventory/index.js';
import { paymentsModule } from '../../src/modules/payments/index.js';
import { TEST_JWT_SECRET, validJwt } from '../support/module-testing.js';

/** How long another process holds the payments database's write lock (the experiment: 20 s). */
const HOLD_MS = Number(process.env.LOCK_HOLD_MS ?? 3000);

/** Another process: takes the write lock of a SQLite file, says HELD, keeps it for HOLD_MS, commits. */
const HOLDER = `
const Database = require('better-sqlite3');
const db = new Database(process.env.FILE);
db.exec('BEGIN IMMEDIATE');
db.exec("INSERT INTO kernel_leases (name, holder, expires_at) VALUES ('lock-holder', 'test', 0)");
console.log('HELD');
setTimeout(() => { db.exec('ROLLBACK'); db.close(); console.log('RELEASED'); }, Number(process.env.HOLD_MS));
`;

describe('a module database locked by another process', () => {
  let app: HttpApp;
  let dataDir: string;
  let baseUrl: string;
  const user = { authorization: `Bearer ${validJwt({ sub: 'lena', role: 'user' })}` };
  const admin = { authorization: `Bearer ${validJwt({ sub: 'root', role: 'admin' })}` };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'locked-db-'));
    const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', JWT_SECRET: TEST_JWT_SECRET }, [
      'payments',
      'inventory',
    ]);
    app = await createHost(config, { catalogue: [paymentsModule, inventoryModule] });
    baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps the process answering: /health/live within 100 ms, other modules write, the locked one resumes after', {
    timeout: HOLD_MS + 30_000,
  }, async () => {
    const holder = spawn(process.execPath, ['-e', HOLDER], {
      env: { ...process.env, FILE: join(dataDir, 'payments.db'), HOLD_MS: String(HOLD_MS) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: holder.stdout });
    const said = (word: string) =>
      new Promise<number>((resolve) => lines.on('line', (line) => line === word && resolve(Date.now())));
    const held = said('HELD');
    const released = said('RELEASED');
    const exited = new Promise<number | null>((resolve) => holder.on('exit', resolve));
    const heldAt = await held;

    // a deposit while the lock is held: it waits (on timers) and commits once the lock is free
    const deposit = fetch(`${baseUrl}/payments/deposits`, {
      method: 'POST',
      headers: { ...user, 'content-type': 'application/json' },
      body: JSON.stringify({ amountCents: 700 }),
    }).then(async (response) => ({ status: response.status, body: await response.json(), at: Date.now() }));

    // meanwhile: liveness answers at once, and another module's database takes writes
    const latencies: number[] = [];
    let created = 0;
    while (Date.now() - heldAt < HOLD_MS - 200) {
      const started = performance.now();
      const live = await fetch(`${baseUrl}/health/live`);
      latencies.push(performance.now() - started);
      expect(live.status).toBe(200);
      if (created < 5) {
        const product = await fetch(`${baseUrl}/inventory/products`, {
          method: 'POST',
          headers: { ...admin, 'content-type': 'application/json' },
          body: JSON.stringify({ sku: `sku-${created}`, name: 'Mug', priceCents: 900, stock: 3 }),
        });
        expect(product.status).toBe(201);
        created++;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const releasedAt = await released;
    const answer = await deposit;
    expect(await exited).toBe(0);

    const worst = Math.max(...latencies);
    console.log(
      `[locked-database] lock held ${releasedAt - heldAt} ms: ${latencies.length} /health/live, worst ${worst.toFixed(1)} ms; deposit committed ${answer.at - releasedAt} ms after the release`,
    );
    expect(worst).toBeLessThan(100);
    expect(created).toBe(5);
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({ balanceCents: 700 });
    expect(answer.at).toBeGreaterThanOrEqual(releasedAt);
    const account = await fetch(`${baseUrl}/payments/account`, { headers: user });
    expect(await account.json()).toEqual({ balanceCents: 700, version: 1 });
  });
});
