/**
 * GET /admin over the whole catalogue (CONTRACT section 3, 🛡 cookie or token): an admin signs in
 * with the users module's credentials, the dashboard keeps the token in its session cookie, and
 * shows every module of the process. The fixture-level checks (figures, XSS, CSRF, replay) are in
 * src/kernel/http/dashboard/.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithBrowser, launchChromium } from '../../src/kernel/testing/browser.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, allModules, describeOnTransports, E2eApp } from './harness.js';

const pillsOf = (page: string) => [...page.matchAll(/class="pill">([a-z]+)</g)].map((match) => match[1]);

describeOnTransports('GET /admin figures', ({ transport, app }) => {
  it('names the transport and gives every consumer a queue depth and a lag from the broker', async () => {
    const page = await app().call('GET', '/admin', { token: await app().adminToken() });
    expect(page.status).toBe(200);
    expect(page.text).toContain(`<strong id="transport">${transport}</strong>`);
    const consumers = [
      ...page.text.matchAll(
        /<tr data-consumer="([^"]+)">[\s\S]*?depth">(\d+)<\/td><td class="n lag">(\d+)</g,
      ),
    ].map((match) => match[1]);
    expect(consumers).toEqual(
      app()
        .http.kernel.consumers()
        .map((c) => c.name),
    );
    expect(consumers).toContain('orders.checkout-saga');
    expect(page.text).not.toContain('Transport figures unavailable');
  });
});

describe('GET /admin with the session cookie made from a login token', () => {
  let app: E2eApp;
  beforeAll(async () => {
    app = await E2eApp.start();
  });
  afterAll(() => app?.close());

  it('opens for an admin and lists every module this process runs', async () => {
    const session = await app.call('POST', '/admin/session', { body: { token: await app.adminToken() } });
    expect(session.status).toBe(204);
    const cookie = String(session.headers['set-cookie']).split(';')[0] ?? '';
    const page = await app.call('GET', '/admin', { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(pillsOf(page.text).sort()).toEqual(allModules().sort());
  });

  it('opens no session for a user who is not an admin', async () => {
    const user = await app.registerUser('Not Admin');
    const session = await app.call('POST', '/admin/session', { body: { token: user.token } });
    expect(session.status).toBe(403);
    expect(session.headers['set-cookie']).toBeUndefined();
  });
});

describeWithBrowser('signing in to the dashboard in a browser (chromium)', () => {
  let app: E2eApp;
  let baseUrl: string;
  let browser: Browser;
  beforeAll(async () => {
    app = await E2eApp.start();
    baseUrl = await app.http.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('takes the admin email and password, then shows the dashboard; sign-out ends the session', async () => {
    const context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    await page.goto(`${baseUrl}/admin/login`);
    await page.getByLabel('Email').fill(ADMIN_EMAIL);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Wrong email or password.').waitFor();

    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: /^Modules running here/ }).waitFor();
    expect(page.url()).toBe(`${baseUrl}/admin`);
    await expect(page.locator('#transport').textContent()).resolves.toBe('memory');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${baseUrl}/admin/login`);
    await expect(context.cookies()).resolves.toEqual([]);
    expect((await page.goto(`${baseUrl}/admin`))?.status()).toBe(401);
    await context.close();
  });
});
