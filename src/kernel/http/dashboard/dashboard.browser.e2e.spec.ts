import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeWithBrowser, launchChromium } from '../../testing/browser.js';
import { eventually } from '../../testing/index.js';
import { ADMIN_COOKIE } from '../admin-session.js';
import { ARCHIVE_FULL, type DashboardFixture, startDashboardFixture } from './dashboard-testing.js';

const FLAKY = 'archived on the second try';
const XSS = `<img src=x onerror="document.title='owned'"><script>document.title='owned'</script>`;

describeWithBrowser('the admin dashboard in a browser (chromium)', () => {
  let world: DashboardFixture;
  let baseUrl: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** What the page complained about: script errors, CSP violations, dialogs. */
  let complaints: string[];

  beforeAll(async () => {
    world = await startDashboardFixture();
    world.failing.add(FLAKY).add(XSS);
    world.fileNote(FLAKY);
    world.fileNote(XSS);
    await eventually(async () => expect((await world.app.kernel.listDeadLetters()).items).toHaveLength(2));
    baseUrl = await world.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await world?.close();
  });
  beforeEach(async () => {
    context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    complaints = [];
    page.on('console', (message) => {
      if (message.type() === 'error') complaints.push(message.text());
    });
    page.on('pageerror', (error) => complaints.push(error.message));
    page.on('dialog', (dialog) => {
      complaints.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
  });
  afterEach(() => context?.close());

  /** The admin session cookie, as `POST /admin/session` sets it. */
  const signInAsAdmin = () =>
    context.addCookies([
      {
        name: ADMIN_COOKIE,
        value: world.token('admin'),
        domain: '127.0.0.1',
        path: '/admin',
        httpOnly: true,
        sameSite: 'Strict',
      },
    ]);

  it('replays a dead letter with its button: the row is gone and the message is handled', async () => {
    await signInAsAdmin();
    await page.goto(`${baseUrl}/admin`);
    await page.getByRole('heading', { name: 'Dead letters (2)' }).waitFor();
    const flaky = page.locator('tr.dead-letter', { hasText: FLAKY });
    await expect(flaky.count()).resolves.toBe(1);

    world.failing.delete(FLAKY); // the bug is fixed: the next attempt succeeds
    await flaky.getByRole('button', { name: 'Replay' }).click();

    await page.getByRole('heading', { name: 'Dead letters (1)' }).waitFor();
    await expect(page.locator('tr.dead-letter', { hasText: FLAKY }).count()).resolves.toBe(0);
    await eventually(async () => expect(world.archived).toEqual([FLAKY]));
    expect(complaints).toEqual([]);
  });

  it('shows markup in a dead letter as text: nothing of it runs', async () => {
    await signInAsAdmin();
    await page.goto(`${baseUrl}/admin`);
    const row = page.locator('tr.dead-letter', { hasText: 'document.title' });
    await row.locator('summary').click(); // opens the envelope
    await expect(row.locator('td pre').first().textContent()).resolves.toContain(`cannot archive ${XSS}`);
    await expect(row.locator('details pre').textContent()).resolves.toContain(JSON.stringify(XSS));
    await expect(page.title()).resolves.toBe('modulith admin');
    await expect(page.locator('img').count()).resolves.toBe(0);
    expect(complaints).toEqual([]);
  });

  it('sends a visitor without a session to sign in, and a pasted admin token opens the dashboard', async () => {
    const response = await page.goto(`${baseUrl}/admin`);
    expect(response?.status()).toBe(401);
    await page.getByText('Sign in with a token').click();
    await page.getByLabel('Admin JWT').fill(world.token('admin'));
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.getByRole('heading', { name: /^Dead letters/ }).waitFor();
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: ADMIN_COOKIE, path: '/admin', httpOnly: true, sameSite: 'Strict' });
    // page script cannot read the session
    await expect(page.evaluate('document.cookie')).resolves.toBe('');
  });

  it('shows this process as the instance, its consumers with throughput, p99 and history, and refreshes by itself', async () => {
    await signInAsAdmin();
    await page.goto(`${baseUrl}/admin?refresh=1`);
    const instances = page.locator('#instances tr.instance');
    await expect(instances.count()).resolves.toBe(1);
    await expect(instances.locator('td.health > span').first().textContent()).resolves.toBe('pass');
    const archive = page.locator('tr[data-consumer="notes.archive"]');
    // the history: a sample taken at start, and the value now
    const points = await archive.locator('svg.spark.throughput').getAttribute('data-points');
    expect(Number(points)).toBeGreaterThanOrEqual(2);
    const throughput = archive.locator('td.throughput');
    const before = Number(await throughput.textContent());
    const stamp = await page.locator('#generated-at').textContent();
    await page.evaluate('window.notReloaded = true');

    for (let i = 0; i < 6; i++) world.fileNote(`steady ${i}`);
    // six more messages in the last minute: 0.10 msg/s more, shown without a reload
    await expect
      .poll(async () => Number(await throughput.textContent()), { timeout: 10_000 })
      .toBeCloseTo(before + 0.1, 1);
    await expect(archive.locator('td.p99').textContent()).resolves.toMatch(/^[\d.]+ ms$/);
    await expect(page.locator('#generated-at').textContent()).resolves.not.toBe(stamp);
    await expect(page.evaluate('window.notReloaded')).resolves.toBe(true);
    expect(complaints).toEqual([]);
  });

  it('groups dead letters by consumer, type and error, filters them, and replays or deletes a group', async () => {
    for (const text of ['full 1', 'full 2', 'doomed']) {
      world.failing.add(text);
      world.fileNote(text);
    }
    await eventually(async () => expect((await world.app.kernel.listDeadLetters()).items).toHaveLength(4)); // with XSS's
    await signInAsAdmin();
    await page.goto(`${baseUrl}/admin?refresh=1`);
    const full = page.locator('tr.dead-letter', { hasText: ARCHIVE_FULL });
    await expect(full.locator('td.count').textContent()).resolves.toBe('2');
    const shown = () => page.locator('tr.dead-letter:visible').count();
    await expect(shown()).resolves.toBe(3);

    await page.getByLabel('error contains').fill('FULL');
    await expect(shown()).resolves.toBe(1);
    // the filter holds across a refresh
    const stamp = await page.locator('#generated-at').textContent();
    await expect.poll(() => page.locator('#generated-at').textContent()).not.toBe(stamp);
    await expect(shown()).resolves.toBe(1);
    await page.getByLabel('error contains').fill('');
    await page.getByLabel('consumer').fill('nobody.here');
    await expect(shown()).resolves.toBe(0);
    await page.getByLabel('consumer').fill('notes.archive');
    await page.getByLabel('type').fill('notes.note-filed');
    await expect(shown()).resolves.toBe(3);

    world.failing.delete('full 1');
    world.failing.delete('full 2'); // fixed: the replayed messages are archived
    await full.getByRole('button', { name: 'Replay' }).click();
    await full.waitFor({ state: 'detached' });
    await eventually(async () =>
      expect(world.archived).toEqual(expect.arrayContaining(['full 1', 'full 2'])),
    );
    await expect(page.getByRole('status').textContent()).resolves.toBe('Replayed 2 message(s).');

    page.removeAllListeners('dialog');
    page.on('dialog', (dialog) => void dialog.accept());
    const doomed = page.locator('tr.dead-letter', { hasText: 'cannot archive doomed' });
    await doomed.getByRole('button', { name: 'Delete' }).click();
    await doomed.waitFor({ state: 'detached' });
    expect((await world.app.kernel.listDeadLetters({ error: 'cannot archive doomed' })).items).toEqual([]);
    await expect(page.getByRole('heading', { name: /^Dead letters/ }).textContent()).resolves.toBe(
      'Dead letters (1)',
    );
    expect(complaints).toEqual([]);
  });
});
