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
.pill, .tag { display: inline-block; padding: 0 0.5rem; border-radius: 1rem; background: #8882; margin: 0 0.2rem 0.2rem 0; }
.fail { color: #c62828; } .pass { color: #2e7d32; } .warn { color: #b26a00; }
.empty { color: #888; font-style: italic; }
button { cursor: pointer; margin: 0 0.2rem 0.2rem 0; }
form { display: grid; gap: 0.6rem; max-width: 22rem; margin: 1rem 0; }
label { display: grid; gap: 0.2rem; }
#status { min-height: 1.4rem; font-weight: 600; }
form.filters { display: flex; flex-wrap: wrap; gap: 0.5rem 1.5rem; max-width: none; }
form.filters label { display: flex; gap: 0.4rem; align-items: baseline; }
tr.instance-heading th { background: #8881; font-weight: 600; }
svg.spark { display: block; }
svg.spark.throughput { color: #2e7d32; } svg.spark.lag { color: #b26a00; }
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
  let answer = {};
  try { answer = (await response.json()) || {}; } catch { answer = {}; }
  return { ok: response.ok, status: response.status, detail: answer.detail || '', body: answer };
}
`;

/**
 * The dashboard's script: refreshes the live part of the page every `data-refresh-seconds`,
 * filters the dead-letter groups, and calls the admin JSON routes (replay or delete a group, sign
 * out) with the session cookie.
 *
 * A refresh fetches the page again and puts its live part in place of this one's: the markup is
 * rendered (and escaped) by the server exactly as at the first load, one renderer for both, and a
 * parsed document's scripts never run. The filter form and the open envelopes are kept across it.
 */
export const DASHBOARD_SCRIPT = `'use strict';
${SEND_HELPER}
const live = () => document.getElementById('live');
const refreshSeconds = Number(live()?.getAttribute('data-refresh-seconds')) || 5;
let busy = false;

function applyFilters() {
  const form = document.getElementById('filters');
  if (!(form instanceof HTMLFormElement)) return;
  const data = new FormData(form);
  const consumer = String(data.get('consumer') || '').trim();
  const type = String(data.get('type') || '').trim();
  const error = String(data.get('error') || '').trim().toLowerCase();
  for (const row of document.querySelectorAll('tr.dead-letter')) {
    row.hidden = !((!consumer || row.getAttribute('data-consumer') === consumer)
      && (!type || row.getAttribute('data-type') === type)
      && (!error || (row.getAttribute('data-error') || '').toLowerCase().includes(error)));
  }
}
document.addEventListener('input', (event) => {
  if (event.target instanceof Element && event.target.closest('#filters')) applyFilters();
});
document.addEventListener('submit', (event) => {
  if (event.target instanceof Element && event.target.id === 'filters') event.preventDefault();
});

async function refresh() {
  if (busy) return;
  try {
    const response = await fetch(window.location.href, { credentials: 'same-origin', headers: { accept: 'text/html' } });
    if (!response.ok) { say(response.status === 401 ? 'The session ended: sign in again.' : 'Refresh failed (' + response.status + ')'); return; }
    // the live part only: the rest of the page (its style and script, with their nonces) stays
    const text = await response.text();
    const start = text.indexOf('<main id="live"');
    const end = text.lastIndexOf('</main>');
    if (start === -1 || end === -1) return;
    const fresh = new DOMParser().parseFromString(text.slice(start, end + 7), 'text/html').getElementById('live');
    const current = live();
    if (!fresh || !current || busy) return;
    const open = new Set([...current.querySelectorAll('details[open][data-key]')].map((d) => d.getAttribute('data-key')));
    for (const details of fresh.querySelectorAll('details[data-key]')) {
      if (open.has(details.getAttribute('data-key'))) details.setAttribute('open', '');
    }
    const form = document.getElementById('filters');
    const focused = form && form.contains(document.activeElement) ? document.activeElement : null;
    const placeholder = fresh.querySelector('#filters');
    if (form && placeholder) placeholder.replaceWith(form);
    current.replaceWith(document.adoptNode(fresh));
    if (focused instanceof HTMLElement) focused.focus();
    applyFilters();
  } catch (error) {
    say('Refresh failed: ' + (error instanceof Error ? error.message : String(error)));
  }
}

const group = (button) => ({
  instance: button.getAttribute('data-instance') || '',
  consumer: button.getAttribute('data-consumer') || '',
  ...(button.getAttribute('data-type') ? { type: button.getAttribute('data-type') } : {}),
  error: button.getAttribute('data-error') || '',
});
const ACTIONS = {
  replay: (button) => ['POST', '/admin/deployment/dead-letters/replay', group(button)],
  delete: (button) => ['POST', '/admin/deployment/dead-letters/delete', group(button)],
  logout: () => ['DELETE', '/admin/session'],
};
document.addEventListener('click', async (event) => {
  const button = event.target instanceof Element ? event.target.closest('button[data-action]') : null;
  if (!button) return;
  const action = button.getAttribute('data-action');
  const route = ACTIONS[action];
  if (!route) return;
  if (action === 'delete' && !window.confirm('Delete these dead letters for good?')) return;
  button.disabled = true;
  busy = true;
  say(action + ' …');
  const [method, url, body] = route(button);
  const result = await send(method, url, body).finally(() => { busy = false; });
  if (!result.ok) {
    button.disabled = false;
    say(action + ' failed (' + result.status + ')' + (result.detail ? ': ' + result.detail : ''));
    return;
  }
  if (action === 'logout') { window.location.assign('/admin/login'); return; }
  say(action === 'replay' ? 'Replayed ' + result.body.replayed + ' message(s).' : 'Deleted ' + result.body.deleted + ' dead letter(s).');
  await refresh();
});
setInterval(() => void refresh(), refreshSeconds * 1000);
applyFilters();
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
