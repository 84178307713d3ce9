import { describe, expect, it } from 'vitest';
import { prefersHtml } from './index-route.js';

describe('GET / content negotiation', () => {
  it.each([
    [undefined, false],
    ['*/*', false], // curl, fetch
    ['application/json', false],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', true], // a browser
    ['application/json, text/html;q=0.5', false],
    ['text/html;q=0', false],
    ['TEXT/HTML', true],
  ])('Accept %s asks for HTML: %s', (accept, html) => {
    expect(prefersHtml(accept)).toBe(html);
  });
});
