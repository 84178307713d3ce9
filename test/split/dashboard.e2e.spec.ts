/**
 * One dashboard for a split deployment on BullMQ, in a browser (chromium): three hosts, each with
 * its own kernel, databases, HTTP listener and registry record, reaching each other only through
 * Redis and HTTP (in this test's process, so that a module of the test can fail on demand):
 *
 *   gateway  gateway + users                         the dashboard is opened here
 *   core     orders + payments + inventory           the checkout sagas
 *   notify   notifications + analytics + webhooks    and `notes`, whose consumer fails on demand
 *            + notes
 *
 * The gateway's /admin shows every instance with its health; per consumer depth, lag, throughput,
 * p99 and history; refreshes by itself; shows the notify process's dead letters in groups, filters,
 * replays and deletes them there; links a checkout saga to its order's timeline and correlation
 * id. The notify process's bull-board opens with the same session cookie and shows no dead-letter
 * copies. Needs Redis and chromium; skipped without them (a failure with REQUIRE_BROKERS=1).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { moduleCatalogue } from '../../src/app.js';
import { ADMIN_COOKIE } from '../../src/kernel/http/admin-session.js';
import {
  ARCHIVE_FULL,
  createNotesModule,
  fileNote,
} from '../../src/kernel/http/dashboard/dashboard-testing.js';
import { type HttpApp, loadConfig } from '../../src/kernel/index.js';
import { chromiumSkipReason, launchChromium } from '../../src/kernel/testing/browser.js';
import { describeNeeding } from '../../src/kernel/testing/describe-needing.js';
import { createHost, eventually, redisSkipReason, redisUrl } from '../../src/kernel/testing/index.js';
import { Api, type Json } from './api.js';

const JWT_SECRET = 'split-dashboard-secret-0123456789abcdef0123456789';
const ADMIN_EMAIL = 'admin@dashboard.test';
const ADMIN_PASSWORD = 'dashboard-admin-password';
const WAIT_MS = 20_000;

const skip = (await redisSkipReason()) ?? chromiumSkipReason();

describeNeeding(
  'Redis and chromium',
  skip,
  'one dashboard for a split deployment on BullMQ (chromium)',
  () => {
    const namespace = `dash-${randomBytes(4).toString('hex')}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'split-dashboard-'));
    const failing = new Set<string>();
    const archived: string[] = [];
    const catalogue = [...moduleCatalogue, createNotesModule(failing, archived)];
    const hosts: Record<'gateway' | 'core' | 'notify', HttpApp | undefined> = {
      gateway: undefined,
      core: undefined,
      notify: undefined,
    };
    const urls = { gateway: '', core: '', notify: '' };
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let api: Api;
    let admin: string;
    const complaints: string[] = [];

    const start = async (name: keyof typeof hosts, modules: string) => {
      const config = loadConfig(
        {
          TRANSPORT: 'bullmq',
          MODULES: modules,
          DATA_DIR: dataDir,
          BUS_NAMESPACE: namespace,
          BUS_PARTITIONS: '2',
          REDIS_URL: redisUrl,
          JWT_SECRET,
          ADMIN_EMAIL,
          ADMIN_PASSWORD,
          LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
        },
        catalogue.map((m) => m.name),
      );
      const app = await createHost(config, { catalogue, retry: { initialDelayMs: 5 } });
      hosts[name] = app;
      urls[name] = await app.listen({ host: '127.0.0.1', port: 0 });
      return app;
    };
    const notify = () => {
      if (!hosts.notify) throw new Error('notify is not running');
      return hosts.notify;
    };

    beforeAll(async () => {
      await Promise.all([
        start('gateway', 'gateway,users'),
        start('core', 'orders,payments,inventory'),
        start('notify', 'notifications,analytics,webhooks,notes'),
      ]);
      api = new Api(urls.gateway);
      admin = await api.login(ADMIN_EMAIL, ADMIN_PASSWORD);
      await eventually(
        async () => {
          const services: Json[] = await api.expect(200, 'GET', '/admin/services', { token: admin });
          expect(services.filter((s) => s.status === 'pass')).toHaveLength(3);
        },
        { timeoutMs: WAIT_MS },
      );

      // an order through the gateway (its saga runs in core), and dead letters in notify
      const user = await api.register('Dash');
      await api.deposit(user.token, 5_000);
      const sku = `DASH-${randomBytes(3).toString('hex').toUpperCase()}`;
      await api.createProduct(admin, sku, 700, 5);
      const order = await api.placeOrder(user.token, [{ sku, quantity: 1 }]);
      await api.waitForTerminal(user.token, [order.id], WAIT_MS);
      for (const text of ['full a', 'full b', 'doomed x']) {
        failing.add(text);
        await fileNote(notify(), text);
      }
      await eventually(async () => expect((await notify().kernel.listDeadLetters()).items).toHaveLength(3), {
        timeoutMs: WAIT_MS,
      });

      browser = await launchChromium();
      context = await browser.newContext();
      context.setDefaultTimeout(10_000);
      // cookies are per host, not per port: this one reaches every instance's /admin on 127.0.0.1
      await context.addCookies([
        {
          name: ADMIN_COOKIE,
          value: admin,
          domain: '127.0.0.1',
          path: '/admin',
          httpOnly: true,
          sameSite: 'Strict',
        },
      ]);
      page = await context.newPage();
      page.on('console', (message) => {
        if (message.type() === 'error') complaints.push(message.text());
      });
      page.on('pageerror', (error) => complaints.push(error.message));
      page.on('dialog', (dialog) => void dialog.accept());
      await page.goto(`${urls.gateway}/admin?refresh=1`);
    }, 90_000);

    afterAll(async () => {
      await browser?.close();
      await Promise.all(Object.values(hosts).map((app) => app?.close()));
      const redis = new Redis(redisUrl);
      try {
        const keys = await redis.keys(`${namespace}:*`);
        if (keys.length > 0) await redis.del(...keys);
      } finally {
        redis.disconnect();
      }
      rmSync(dataDir, { recursive: true, force: true });
    });

    /** The consumer's row in the part of the table of the instance at `url`. */
    const consumerRow = (url: string, consumer: string) =>
      page.locator('#consumers tbody', { hasText: url }).locator(`tr[data-consumer="${consumer}"]`);

    it('lists every instance with its health, and per consumer depth, lag, throughput, p99 and history', async () => {
      const instances = page.locator('#instances tr.instance');
      await expect(instances.count()).resolves.toBe(3);
      for (const url of Object.values(urls)) {
        const row = instances.filter({ hasText: url });
        await expect(row.locator('td.health > span').first().textContent()).resolves.toBe('pass');
      }
      const saga = consumerRow(urls.core, 'orders.checkout-saga');
      await expect(saga.locator('td.depth').textContent()).resolves.toBe('0');
      await expect(saga.locator('td.lag').textContent()).resolves.toBe('0');
      expect(Number(await saga.locator('td.throughput').textContent())).toBeGreaterThan(0);
      await expect(saga.locator('td.p99').textContent()).resolves.toMatch(/^[\d.]+ ms$/);
      expect(
        Number(await saga.locator('svg.spark.throughput').getAttribute('data-points')),
      ).toBeGreaterThanOrEqual(2);
      await expect(consumerRow(urls.notify, 'notes.archive').count()).resolves.toBe(1);
    });

    it('refreshes by itself: new traffic in another process shows without a reload', async () => {
      const throughput = consumerRow(urls.notify, 'notes.archive').locator('td.throughput');
      const before = Number(await throughput.textContent());
      await page.evaluate('window.notReloaded = true');
      for (let i = 0; i < 6; i++) await fileNote(notify(), `steady ${i}`);
      await expect
        .poll(async () => Number(await throughput.textContent()), { timeout: 10_000 })
        .toBeCloseTo(before + 0.1, 1);
      await expect(page.evaluate('window.notReloaded')).resolves.toBe(true);
    });

    it("groups, filters, replays and deletes another process's dead letters there", async () => {
      const full = page.locator('tr.dead-letter', { hasText: ARCHIVE_FULL });
      await expect(full.locator('td.count').textContent()).resolves.toBe('2');
      await expect(full.textContent()).resolves.toContain(urls.notify);
      const shown = () => page.locator('tr.dead-letter:visible').count();
      await expect(shown()).resolves.toBe(2);
      await page.getByLabel('error contains').fill('doomed');
      await expect(shown()).resolves.toBe(1);
      await page.getByLabel('error contains').fill('');
      await page.getByLabel('type').fill('notes.note-filed');
      await expect(shown()).resolves.toBe(2);

      failing.clear(); // fixed: the replayed messages are archived, in the notify process
      await full.getByRole('button', { name: 'Replay' }).click();
      await full.waitFor({ state: 'detached' });
      await eventually(async () => expect(archived).toEqual(expect.arrayContaining(['full a', 'full b'])));

      const doomed = page.locator('tr.dead-letter', { hasText: 'cannot archive doomed x' });
      await doomed.getByRole('button', { name: 'Delete' }).click();
      await doomed.waitFor({ state: 'detached' });
      expect((await notify().kernel.listDeadLetters()).items).toEqual([]);
      await expect(page.getByRole('heading', { name: /^Dead letters/ }).textContent()).resolves.toBe(
        'Dead letters (0)',
      );
    });

    it("links a checkout saga to its order's timeline and correlation id", async () => {
      const saga = page.locator('tr.saga', { hasText: 'orders.checkout' }).first();
      const correlation = await saga.locator('td.correlation').textContent();
      expect(correlation).toMatch(/\S+/);
      await saga.getByRole('link').click();
      await page.waitForURL(/\/admin\/sagas\/orders\.checkout\/[^/]+\/timeline$/);
      const types = await page.locator('tr.timeline-entry td:nth-child(2)').allTextContents();
      expect(types).toEqual(
        expect.arrayContaining([
          'orders.order-placed',
          'payments.payment-completed',
          'orders.order-confirmed',
        ]),
      );
      await expect(page.locator('#correlation').textContent()).resolves.toBe(correlation);
      await page.goBack();
      expect(complaints).toEqual([]); // the dashboard's pages (bull-board loads assets of its own)
    });

    it("opens the notify process's bull-board with the same session cookie, without dead-letter copies", async () => {
      const board = await page.goto(`${urls.notify}/admin/queues`);
      expect(board?.status()).toBe(200);
      const listed = await page.request.get(`${urls.notify}/admin/queues/api/queues`);
      expect(listed.status()).toBe(200);
      const names = ((await listed.json()) as { queues: { name: string }[] }).queues.map((q) => q.name);
      expect(names).toEqual(expect.arrayContaining(['notes.archive.p0', 'notes.archive.p1']));
      expect(names.filter((name) => name.startsWith('dlq.'))).toEqual([]);
    });
  },
);
