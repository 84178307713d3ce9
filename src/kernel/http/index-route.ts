import type { HttpApp } from '../modules/module.js';
import { packageInfo } from '../package-info.js';
import { html } from './dashboard/html.js';

/** What every process serves, for a person or a client that starts at `/`. */
export const INDEX_LINKS = {
  docs: '/docs',
  errors: '/docs/errors',
  openapi: '/openapi.json',
  asyncapi: '/asyncapi.json',
  admin: '/admin',
  health: '/health/ready',
  metrics: '/metrics',
} as const;

const TITLES: Readonly<Record<keyof typeof INDEX_LINKS, string>> = {
  docs: 'API docs (OpenAPI UI)',
  errors: 'Error codes (where each problem type points)',
  openapi: 'OpenAPI document',
  asyncapi: 'AsyncAPI document (the messages)',
  admin: 'Admin dashboard',
  health: 'Readiness',
  metrics: 'Prometheus metrics',
};

/** The quality (q) the Accept header gives `type`, 0 when it does not accept it. */
function quality(accept: string, type: string): number {
  let best = 0;
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.split(';').map((piece) => piece.trim().toLowerCase());
    if (range !== type) continue;
    const q = params.find((param) => param.startsWith('q='));
    best = Math.max(best, q === undefined ? 1 : Number(q.slice(2)) || 0);
  }
  return best;
}

/** A browser asks for HTML by name; curl and fetch send `*\/*` and get JSON. */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  return (
    quality(accept, 'text/html') > 0 && quality(accept, 'text/html') >= quality(accept, 'application/json')
  );
}

function indexPage(): string {
  const items = Object.entries(INDEX_LINKS).map(
    ([key, href]) =>
      html`<li><a href="${href}">${TITLES[key as keyof typeof INDEX_LINKS]}</a> <code>${href}</code></li>`,
  );
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${packageInfo.name}</title></head>
<body>
<h1>${packageInfo.name}</h1>
<p>${packageInfo.description}</p>
<ul>
${items}
</ul>
</body>
</html>
`.markup;
}

/**
 * `GET /`: links to what this process serves, instead of a 404 for the first URL anyone opens.
 * JSON `{ name, links }` by default, a small HTML page for a browser.
 */
export function registerIndexRoute(app: HttpApp): void {
  app.get('/', { schema: { hide: true } }, async (request, reply) => {
    if (prefersHtml(request.headers.accept)) {
      return reply.type('text/html; charset=utf-8').send(indexPage());
    }
    return { name: packageInfo.name, links: INDEX_LINKS };
  });
}
