import { describe, expect, it } from 'vitest';
import { matchesPath } from './path-pattern.js';

describe('matchesPath', () => {
  it('matches literal segments exactly and a :name segment to one non-empty segment', () => {
    expect(matchesPath('/orders', '/orders')).toBe(true);
    expect(matchesPath('/orders', '/ordersx')).toBe(false);
    expect(matchesPath('/orders/:id', '/orders/o1')).toBe(true);
    expect(matchesPath('/orders/:id', '/orders/')).toBe(false);
    expect(matchesPath('/orders/:id', '/orders')).toBe(false);
    expect(matchesPath('/orders/:id', '/orders/o1/timeline')).toBe(false);
  });

  it('matches the rest of the path, empty or not, to a last * segment', () => {
    expect(matchesPath('/docs/*', '/docs/')).toBe(true);
    expect(matchesPath('/docs/*', '/docs/static/index.css')).toBe(true);
    expect(matchesPath('/docs/*', '/docs')).toBe(false);
    expect(matchesPath('/docs/*', '/doc/x')).toBe(false);
  });
});
