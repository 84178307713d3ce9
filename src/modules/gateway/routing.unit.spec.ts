import { describe, expect, it } from 'vitest';
import { isIdempotent, isPublicRoute, moduleForPath, pathOf } from './routing.js';

describe('gateway routing', () => {
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
    expect(moduleForPath(path)).toBe(module);
  });

  it.each(['/ordersx', '/admin/outbox', '/health/ready', '/metrics', '/', '/docs', '/authx/login'])(
    '%s belongs to no module (answered by the gateway process itself)',
    (path) => {
      expect(moduleForPath(path)).toBeUndefined();
    },
  );

  it('takes the path without query or fragment', () => {
    expect(pathOf('/orders?status=pending')).toBe('/orders');
    expect(pathOf('/inventory/products/mug#x')).toBe('/inventory/products/mug');
    expect(pathOf('/orders')).toBe('/orders');
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
    expect(isPublicRoute(method, path)).toBe(expected);
  });

  it('retries only methods without a second effect on another instance', () => {
    expect(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'].every(isIdempotent)).toBe(true);
    expect(['POST', 'PATCH'].some(isIdempotent)).toBe(false);
  });
});
