import { ADMIN_REQUEST_HEADER } from '../admin-session.js';

/**
 * The pages' style and scripts, inlined with the response's CSP nonce: no build step, no asset
 * route, and nothing else may run. The scripts touch the page only through `textContent` and
 * attributes set here, never `innerHTML`, so data from the server is never parsed as markup.
 */

export const DASHBOARD_CSS = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0 auto; max-width: 78rem; padding: 1rem 1.5rem 3rem; }
header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: baseline; justify-content: space-between; }
h1 { margin: 0.2rem 0; font-size: 1.4rem; }
h2 { margin-top: 2rem; font-size: 1.1rem; border-bottom: 1px solid #8884; padding-bottom: 0.2rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid #8883; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
pre { margin: 0; max-height: 12rem; overflow: auto; white-space: pre-wrap; word-break: break-all; font-size: 0.8rem; }
.facts { display: flex; flex-wrap: wrap; gap: 0.5rem 2rem; margin: 0.5rem 0; padding: 0; list-style: none; }
.pill { display: inline-block; padding: 0 0.5rem; border-radius: 1rem; background: #8882; margin: 0 0.2rem 0.2rem 0; }
.fail { color: #c62828; } .pass { color: #2e7d32; } .warn { color: #b26a00; }
.empty { color: #888; font-style: italic; }
button { cursor: pointer; margin: 0 0.2rem 0.2rem 0; }
form { display: grid; gap: 0.6rem; max-width: 22rem; margin: 1rem 0; }
label { display: grid; gap: 0.2rem; }
#status { min-height: 1.4rem; font-weight: 600; }
`;

const SEND_HELPER = `
const status = document.getElementById('status');
const say = (text) => { if (status) status.textContent = text; };
async function send(method, url, body) {
  const headers = { '${ADMIN_REQUEST_HEADER}': '1' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, {
    method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
  });
  let detail = '';
  try { detail = (await response.json()).detail || ''; } catch { detail = ''; }
  return { ok: response.ok, status: response.status, detail };
}
`;

/** Replay, delete and sign out: calls the admin JSON routes with the session cookie, then reloads. */
export const DASHBOARD_SCRIPT = `'use strict';
${SEND_HELPER}
const ACTIONS = {
  replay: (id) => ['POST', '/admin/dead-letters/' + encodeURIComponent(id) + '/replay'],
  delete: (id) => ['DELETE', '/admin/dead-letters/' + encodeURIComponent(id)],
  'replay-all': () => ['POST', '/admin/dead-letters/replay', {}],
  logout: () => ['DELETE', '/admin/session'],
};
document.addEventListener('click', async (event) => {
  const button = event.target instanceof Element ? event.target.closest('button[data-action]') : null;
  if (!button) return;
  const action = button.getAttribute('data-action');
  const route = ACTIONS[action];
  if (!route) return;
  if (action === 'delete' && !window.confirm('Delete this dead letter for good?')) return;
  button.disabled = true;
  say(action + ' …');
  const [method, url, body] = route(button.getAttribute('data-id') || '');
  const result = await send(method, url, body);
  if (!result.ok) {
    button.disabled = false;
    say(action + ' failed (' + result.status + ')' + (result.detail ? ': ' + result.detail : ''));
    return;
  }
  if (action === 'logout') window.location.assign('/admin/login');
  else window.location.reload();
});
`;

/** Signs in with email and password through POST /auth/login (or with a pasted token), then opens a session. */
export const LOGIN_SCRIPT = `'use strict';
${SEND_HELPER}
const LOGIN_FAILURES = {
  400: 'Enter an email and a password.',
  401: 'Wrong email or password.',
  404: 'This process does not run the users module: sign in with a token below.',
  429: 'Too many attempts; wait a minute.',
};
async function openSession(token) {
  const result = await send('POST', '/admin/session', { token });
  if (result.ok) window.location.assign('/admin');
  else say(result.status === 403 ? 'This account is not an admin.' : 'Sign-in failed (' + result.status + ')' + (result.detail ? ': ' + result.detail : ''));
}
document.getElementById('login')?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.currentTarget);
  say('Signing in …');
  const response = await fetch('/auth/login', {
    method: 'POST', headers: { 'content-type': 'application/json' }, credentials: 'same-origin',
    body: JSON.stringify({ email: String(form.get('email') || ''), password: String(form.get('password') || '') }),
  });
  if (!response.ok) { say(LOGIN_FAILURES[response.status] || 'Sign-in failed (' + response.status + ').'); return; }
  const { token } = await response.json();
  await openSession(token);
});
document.getElementById('token-login')?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const token = String(new FormData(event.currentTarget).get('token') || '').trim();
  say('Signing in …');
  await openSession(token);
});
`;
