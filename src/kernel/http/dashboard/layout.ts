import type { FastifyReply } from 'fastify';
import { DASHBOARD_CSS, LOGIN_SCRIPT } from './assets.js';
import { html, type SafeHtml, trustedHtml } from './html.js';

/**
 * Only this response's own style and script may run (CSP nonces; no inline handlers, no eval, no
 * other origin); fetches go to this origin only; no framing, no <base>, forms post here only.
 */
export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

export function page(options: { title: string; nonce: string; body: SafeHtml; script: string }): string {
  const { title, nonce, body, script } = options;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${title}</title>
<style nonce="${nonce}">${trustedHtml(DASHBOARD_CSS)}</style>
</head>
<body>
${body}
<script nonce="${nonce}">${trustedHtml(script)}</script>
</body>
</html>
`.markup;
}

/** Sends an HTML page with its CSP and the headers that keep admin data out of caches and frames. */
export function sendPage(reply: FastifyReply, nonce: string, markup: string, status = 200): FastifyReply {
  return reply
    .status(status)
    .type('text/html; charset=utf-8')
    .header('content-security-policy', contentSecurityPolicy(nonce))
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
    .send(markup);
}

/**
 * The sign-in page: email and password go to the users module's POST /auth/login from the
 * browser, and the token it answers is handed to POST /admin/session, which keeps it in the
 * HttpOnly cookie. A pasted token works too (a process that does not run the users module).
 */
export function renderLogin(nonce: string, message: string): string {
  const body = html`<h1>modulith admin: sign in</h1>
<p id="status" role="status">${message}</p>
<form id="login" method="post" action="/admin/login">
  <label>Email <input name="email" type="email" autocomplete="username" required></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <button type="submit">Sign in</button>
</form>
<details>
  <summary>Sign in with a token</summary>
  <form id="token-login" method="post" action="/admin/login">
    <label>Admin JWT <input name="token" type="password" autocomplete="off" required></label>
    <button type="submit">Use token</button>
  </form>
</details>`;
  return page({ title: 'modulith admin: sign in', nonce, body, script: LOGIN_SCRIPT });
}
