/**
 * Takes the README's picture of the dashboard: starts the whole app in this process (memory
 * transport, a temporary data directory), makes some traffic through its HTTP API (users, a
 * product, orders: confirmed, one out of stock, one refused for its balance), publishes one message
 * that breaks its schema (a dead letter for each consumer of its type), waits for a history sample,
 * and photographs /admin in chromium (scripts/chromium.sh installs it).
 *
 *   npx tsx scripts/dashboard-screenshot.ts [docs/dashboard.png]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { moduleCatalogue } from '../src/app.js';
import { createHost } from '../src/kernel/host/create-host.js';
import { ADMIN_COOKIE } from '../src/kernel/http/admin-session.js';
import { type Envelope, loadConfig } from '../src/kernel/index.js';
import { launchChromium } from '../src/kernel/testing/browser.js';
import { Api } from '../test/split/api.js';

const OUT = process.argv[2] ?? 'docs/dashboard.png';
const ADMIN = { email: 'admin@example.com', password: 'change-me-please' };

const dataDir = mkdtempSync(join(tmpdir(), 'dashboard-screenshot-'));
const config = loadConfig(
  {
    DATA_DIR: dataDir,
    JWT_SECRET: 's'.repeat(40),
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    LOG_LEVEL: 'warn',
  },
  moduleCatalogue.map((m) => m.name),
);
const app = await createHost(config, { catalogue: moduleCatalogue });
try {
  const api = new Api(await app.listen({ host: '127.0.0.1', port: 0 }));
  const admin = await api.login(ADMIN.email, ADMIN.password);
  await api.createProduct(admin, 'MUG', 1_200, 12);
  const orders: string[] = [];
  for (const name of ['Ada', 'Grace', 'Edsger']) {
    const user = await api.register(name);
    await api.deposit(user.token, name === 'Edsger' ? 500 : 20_000);
    for (const quantity of [1, 2, 4]) {
      const order = await api.placeOrder(user.token, [{ sku: 'MUG', quantity }]);
      orders.push(order.id);
      await api.waitForTerminal(user.token, [order.id], 30_000);
    }
  }
  // a message that breaks its type's schema: each consumer of it keeps it as a dead letter
  const broken: Envelope = {
    specversion: '1.0',
    id: randomUUID(),
    source: 'orders',
    type: 'orders.order-confirmed',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    schemaversion: 1,
    correlationid: randomUUID(),
    causationid: null,
    partitionkey: 'broken',
    data: { orderId: 42 },
  };
  await app.kernel.transport.publish([broken]);
  await new Promise((resolve) => setTimeout(resolve, 16_000)); // a history sample with the traffic in

  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: { width: 1500, height: 900 } });
    const { hostname } = new URL(api.baseUrl);
    await context.addCookies([{ name: ADMIN_COOKIE, value: admin, domain: hostname, path: '/admin' }]);
    const page = await context.newPage();
    await page.goto(`${api.baseUrl}/admin?refresh=300`);
    await page.screenshot({ path: OUT, fullPage: true });
    console.log(
      `saved ${OUT} (${orders.length} orders, ${(await app.kernel.listDeadLetters()).items.length} dead letters)`,
    );
  } finally {
    await browser.close();
  }
} finally {
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
}
