/**
 * The gateway proxies what the build's module definitions declare: a module it has no code for
 * gets its prefixes proxied and its public routes let through the edge. No registry here (memory
 * transport, no REDIS_URL): a proxied request that passes the edge answers 503 naming its module.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET, validJwt } from '../../../test/support/module-testing.js';
import { defineModule, type HttpApp, loadConfig } from '../../kernel/index.js';
import { createHost } from '../../kernel/testing/index.js';
import { gatewayModule } from './index.js';

const shipping = defineModule({
  name: 'shipping',
  http: { prefixes: ['/shipping'], publicRoutes: [{ method: 'GET', path: '/shipping/rates/:zone' }] },
});

describe('the gateway in front of a module declared only by its definition', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gateway-catalogue-'));
  let gateway: HttpApp;

  beforeAll(async () => {
    const env = { MODULES: 'gateway', DATA_DIR: dataDir, LOG_LEVEL: 'silent', JWT_SECRET: TEST_JWT_SECRET };
    gateway = await createHost(loadConfig(env, ['gateway', 'shipping']), {
      catalogue: [gatewayModule, shipping],
    });
  });

  afterAll(async () => {
    await gateway?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('routes the prefix the module declares to that module', async () => {
    const token = validJwt({ sub: 'user-1', role: 'user' });
    for (const url of ['/shipping', '/shipping/parcels/42?x=1']) {
      const reply = await gateway.inject({ url, headers: { authorization: `Bearer ${token}` } });
      expect(reply.statusCode).toBe(503);
      expect(reply.json()).toMatchObject({ code: 'GATEWAY_NO_INSTANCE' });
      expect(reply.json().detail).toContain('"shipping"');
    }
    expect((await gateway.inject({ url: '/shippingx' })).statusCode).toBe(404);
  });

  it('lets the public routes it declares through the edge, and no other', async () => {
    expect((await gateway.inject({ url: '/shipping/rates/eu' })).statusCode).toBe(503);
    for (const [method, url] of [
      ['GET', '/shipping/parcels/42'],
      ['POST', '/shipping/rates/eu'],
      ['GET', '/shipping/rates/eu/x'],
    ] as const) {
      const reply = await gateway.inject({ method, url });
      expect({ method, url, status: reply.statusCode }).toEqual({ method, url, status: 401 });
    }
  });
});
