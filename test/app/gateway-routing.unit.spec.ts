import { describe, expect, it } from 'vitest';
import { moduleCatalogue } from '../../src/app.js';
import { defineModule } from '../../src/kernel/index.js';
import {
  isIdempotent,
  isPlainPath,
  isPublicRoute,
  moduleForPath,
  pathOf,
  routedModules,
} from '../../src/modules/gateway/routing.js';

/** A module the gateway has never heard of: its own `http` declaration is all it needs. */
const shipping = defineModule({
  name: 'shipping',
  http: {
    prefixes: ['/shipping', '/carriers'],
    publicRoutes: [{ method: 'GET', path: '/shipping/rates/:zone/:weight' }],
  },
});

describe('gateway routing of the build (each module declares its prefixes and public routes)', () => {
  it.each([
    ['/auth/login', 'users'],
    ['/auth/register', 'users'],
    ['/users/me', 'users'],
    ['/inventory/products', 'inventory'],
    ['/inventory/products/mug', 'inventory'],
    ['/payments/account/events', 'payments'],
    ['/orders', 'orders'],
    ['/orders/abc/timeline', 'orders'],
    ['/notifications', 'notifications'],
    ['/analytics/summary', 'analytics'],
    ['/webhooks/1/deliveries', 'webhooks'],
  ])('%s belongs to %s', (path, module) => {
    expect(moduleForPath(moduleCatalogue, path)).toBe(module);
  });

  it.each(['/ordersx', '/admin/outbox', '/health/ready', '/metrics', '/', '/docs', '/authx/login'])(
    '%s belongs to no module (answered by the gateway process itself)',
    (path) => {
      expect(moduleForPath(moduleCatalogue, path)).toBeUndefined();
    },
  );

  it('takes the path without query or fragment', () => {
    expect(pathOf('/orders?status=pending')).toBe('/orders');
    expect(pathOf('/inventory/products/mug#x')).toBe('/inventory/products/mug');
    expect(pathOf('/orders')).toBe('/orders');
  });

  it.each([
    ['/orders/abc', true],
    ['/inventory/products/a%2Fb', true],
    ['/orders/a..b/.c', true],
    ['/orders/../admin/outbox', false],
    ['/orders/./abc', false],
    ['/orders/%2e%2e/admin', false],
    ['/orders/..%2Fadmin', false],
    ['/orders/..\\admin', false],
    ['/orders/..%5Cadmin', false],
    ['/orders/%E0%A4%A', false],
  ])('%s reaches an instance as written: %s', (path, expected) => {
    expect(isPlainPath(path)).toBe(expected);
  });

  it.each([
    ['POST', '/auth/register', true],
    ['POST', '/auth/login', true],
    ['GET', '/inventory/products', true],
    ['HEAD', '/inventory/products', true],
    ['GET', '/inventory/products/mug', true],
    ['GET', '/inventory/products/a%2Fb', true],
    ['POST', '/inventory/products', false],
    ['PATCH', '/inventory/products/mug', false],
    ['GET', '/inventory/products/mug/extra', false],
    ['GET', '/inventory/products/x/../../../orders', false],
    ['GET', '/auth/login', false],
    ['GET', '/users/me', false],
    ['GET', '/orders', false],
    ['POST', '/payments/deposits', false],
    ['GET', '/analytics/summary', false],
  ] as const)('%s %s is public: %s', (method, path, expected) => {
    expect(isPublicRoute(moduleCatalogue, method, path)).toBe(expected);
  });

  it('routes every module of the build with HTTP routes; the gateway declares none', () => {
    expect(routedModules(moduleCatalogue).map((module) => module.name)).toEqual([
      'users',
      'inventory',
      'payments',
      'orders',
      'notifications',
      'analytics',
      'webhooks',
    ]);
  });

  it('retries only methods without a second effect on another instance', () => {
    expect(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'].every(isIdempotent)).toBe(true);
    expect(['POST', 'PATCH'].some(isIdempotent)).toBe(false);
  });
});

describe('gateway routing of a module it was not written for', () => {
  const catalogue = [...moduleCatalogue, shipping];

  it('routes a path by a prefix declared on the module definition', () => {
    expect(moduleForPath(catalogue, '/shipping')).toBe('shipping');
    expect(moduleForPath(catalogue, '/shipping/rates/eu/2')).toBe('shipping');
    expect(moduleForPath(catalogue, '/carriers/dhl')).toBe('shipping');
    expect(moduleForPath(catalogue, '/shippingx')).toBeUndefined();
    expect(moduleForPath(moduleCatalogue, '/shipping')).toBeUndefined();
  });

  it.each([
    ['GET', '/shipping/rates/eu/2', true],
    ['HEAD', '/shipping/rates/eu/2', false],
    ['POST', '/shipping/rates/eu/2', false],
    ['GET', '/shipping/rates/eu', false],
    ['GET', '/shipping/rates//2', false],
    ['GET', '/shipping/rates/eu/2/x', false],
    ['GET', '/carriers/dhl', false],
  ] as const)('%s %s is public: %s', (method, path, expected) => {
    expect(isPublicRoute(catalogue, method, path)).toBe(expected);
  });

  it('refuses a public route under none of the module prefixes, and a malformed prefix', () => {
    const publicRoutes = [{ method: 'GET', path: '/orders/secret' }] as const;
    expect(() => defineModule({ name: 'shipping', http: { prefixes: ['/shipping'], publicRoutes } })).toThrow(
      'public route GET /orders/secret is under none of its prefixes',
    );
    for (const prefix of ['shipping', '/shipping/', '/', '/Shipping']) {
      expect(() => defineModule({ name: 'shipping', http: { prefixes: [prefix] } })).toThrow(
        `HTTP prefix "${prefix}"`,
      );
    }
  });
});
