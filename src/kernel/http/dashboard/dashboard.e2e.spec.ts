import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../testing/index.js';
import { ADMIN_COOKIE, ADMIN_REQUEST_HEADER } from '../admin-session.js';
import { type DashboardFixture, FULL_CITY, startDashboardFixture } from './dashboard-testing.js';

const XSS = `<script>document.title='owned'</script><img src=x onerror="alert(1)">`;
const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

let world: DashboardFixture;
let adminCookie: string;

const bearer = (role: 'admin' | 'user') => ({ authorization: `Bearer ${world.token(role)}` });
const get = (url: string, headers: Record<string, string> = {}) => world.app.inject({ url, headers });
const cookieOf = (response: LightMyRequestResponse) => String(response.headers['set-cookie'] ?? '');
const deadLetters = async () =>
  ((await get('/admin/dead-letters', bearer('admin'))).json() as { items: { id: string }[] }).items;

/** The admin session cookie a browser would keep, from POST /admin/session. */
async function openSession(token: string, headers: Record<string, string> = {}) {
  return world.app.inject({ method: 'POST', url: '/admin/session', payload: { token }, headers });
}

beforeAll(async () => {
  world = await startDashboardFixture();
  world.failing.add(XSS);
  world.fileNote('kept');
  world.fileNote(XSS);
  world.requestTrip('Lisbon');
  world.requestTrip(FULL_CITY);
  await eventually(async () => expect(await deadLetters()).toHaveLength(1));
  await eventually(async () =>
    expect(await world.app.kernel.sagaCountsByStatus()).toEqual({ completed: 1, compensated: 1 }),
  );
  const session = await openSession(world.token('admin'));
  adminCookie = `${ADMIN_COOKIE}=${/modulith_admin=([^;]+)/.exec(cookieOf(session))?.[1]}`;
});
afterAll(() => world?.close());

describe('GET /admin', () => {
  it('answers 401 problem+json to an anonymous API client, and the sign-in page (still 401) to a browser', async () => {
    const api = await get('/admin');
    expect(api.statusCode).toBe(401);
    expect(api.headers['content-type']).toContain('application/problem+json');
    const browser = await get('/admin', BROWSER);
    expect(browser.statusCode).toBe(401);
    expect(browser.headers['content-type']).toContain('text/html');
    expect(browser.body).toContain('<form id="login"');
    expect(browser.body).not.toContain('notes.archive');
  });

  it('answers 403 to a signed-in non-admin, by token or by cookie', async () => {
    expect((await get('/admin', bearer('user'))).statusCode).toBe(403);
    const userSession = await openSession(world.token('user'));
    expect(userSession.statusCode).toBe(403);
    expect(userSession.headers['set-cookie']).toBeUndefined();
    // a user JWT planted in the cookie by hand is refused all the same
    const planted = await get('/admin', { cookie: `${ADMIN_COOKIE}=${world.token('user')}` });
    expect(planted.statusCode).toBe(403);
  });

  it('shows an admin the transport, modules, queues, dead letters, sagas and outboxes', async () => {
    const page = await get('/admin', bearer('admin'));
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toMatch(/<strong id="transport">memory<\/strong>/);
    for (const module of ['trips', 'flights', 'hotels', 'notes'])
      expect(page.body).toContain(`pill">${module}<`);
    // per consumer: queue depth and lag (drained: 0) and its dead letters
    expect(page.body).toMatch(
      /<tr data-consumer="notes\.archive">[\s\S]*?class="n depth">0<\/td><td class="n lag">0<\/td>\s*<td class="n">1<\/td>/,
    );
    expect(page.body).toMatch(/<h2>Dead letters \(1\)<\/h2>/);
    expect(page.body).toContain('data-action="replay"');
    expect(page.body).toContain('data-status="completed">completed: 1<');
    expect(page.body).toContain('data-status="compensated">compensated: 1<');
    expect(page.body).toMatch(
      /<tr data-module="notes"><td>notes<\/td><td class="n pending">0<\/td>[\s\S]*?published">2</,
    );
  });

  it('shows the messages a consumer holds for a newer build, and the readiness warning', async () => {
    // as the decode step records a note-filed v2 that this build (v1) cannot read
    const hold = {
      consumer: 'notes.archive',
      type: 'notes.note-filed',
      version: 2,
      known: 1,
      delayMs: 60_000,
    };
    world.app.kernel.heldMessages.hold({ ...hold, messageId: 'newer-1' });
    const page = await get('/admin', bearer('admin'));
    expect(page.body).toMatch(/<tr data-consumer="notes\.archive">[\s\S]*?<td class="n held warn">1<\/td>/);
    expect(page.body).toMatch(/<tr data-consumer="trips\.[^"]+">[\s\S]*?<td class="n held">0<\/td>/);
    expect(page.body).toMatch(
      /<span class="warn">warn<\/span> held \(notes\.archive holds 1 message\(s\) of notes\.note-filed v2 \(this build reads v1\)/,
    );
  });

  it('shows user input in a dead letter as text: no markup of its own reaches the page', async () => {
    const page = await get('/admin', bearer('admin'));
    expect(page.body).toContain('&lt;script&gt;document.title=&#39;owned&#39;&lt;/script&gt;');
    expect(page.body).not.toContain('<img src=x');
    expect(page.body).not.toContain("<script>document.title='owned'");
    // the page's one script is its own, allowed by the CSP nonce and nothing else
    const nonce = /script-src 'nonce-([^']+)'/.exec(String(page.headers['content-security-policy']))?.[1];
    expect(nonce).toBeDefined();
    expect(page.body.match(/<script/g)).toHaveLength(1);
    expect(page.body).toContain(`<script nonce="${nonce}">`);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('the admin session cookie', () => {
  it('is set only for a valid admin JWT: HttpOnly, SameSite=Strict, scoped to /admin, Secure over https', async () => {
    expect(cookieOf(await openSession(world.token('admin')))).toMatch(
      /^modulith_admin=[\w-]+\.[\w-]+\.[\w-]+; Path=\/admin; Max-Age=(3600|3599); HttpOnly; SameSite=Strict$/,
    );
    const https = await openSession(world.token('admin'), { 'x-forwarded-proto': 'https' });
    expect(cookieOf(https)).toMatch(/; Secure$/);
    expect((await openSession('not-a-jwt')).statusCode).toBe(400);
    const [head, , signature] = world.token('admin').split('.');
    const forged = `${head}.${Buffer.from('{"sub":"x","role":"admin"}').toString('base64url')}.${signature}`;
    expect((await openSession(forged)).statusCode).toBe(401);
    const signOut = await world.app.inject({ method: 'DELETE', url: '/admin/session' });
    expect(signOut.statusCode).toBe(204);
    expect(cookieOf(signOut)).toMatch(/^modulith_admin=; Path=\/admin; Max-Age=0;/);
  });

  it('opens the dashboard and the admin JSON routes it calls', async () => {
    const page = await get('/admin', { cookie: adminCookie, ...BROWSER });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<h2>Dead letters (1)</h2>');
    const letters = await get('/admin/dead-letters', { cookie: adminCookie });
    expect(letters.statusCode).toBe(200);
    expect(letters.json()).toMatchObject({ items: [{ id: expect.any(String) }], next: null });
    expect((await get('/admin/outbox', { cookie: adminCookie })).statusCode).toBe(200);
  });

  it('changes nothing without the request header a cross-site form cannot send (CSRF)', async () => {
    const [letter] = await deadLetters();
    const url = `/admin/dead-letters/${letter?.id}`;
    const forged = await world.app.inject({ method: 'DELETE', url, headers: { cookie: adminCookie } });
    expect(forged.statusCode).toBe(403);
    expect(forged.json()).toMatchObject({ code: 'AUTH_CSRF_HEADER_MISSING' });
    expect(await deadLetters()).toHaveLength(1);
    const replay = await world.app.inject({
      method: 'POST',
      url: `${url}/replay`,
      headers: { cookie: adminCookie, [ADMIN_REQUEST_HEADER]: '1' },
    });
    expect(replay.statusCode).toBe(200);
    // its handler still fails, so it is back among the dead letters: a new one, from the new attempts
    await eventually(async () =>
      expect((await deadLetters()).map((l) => l.id)).toEqual([expect.not.stringMatching(letter?.id ?? '')]),
    );
  });
});
