/**
 * Rate limits hold across instances: with `RATE_LIMIT_STORE=redis` (the default on a broker
 * transport) two servers count one client's requests together, and share `app.rateCounters`. Needs Redis; skipped without it
 * (a failure with REQUIRE_BROKERS=1).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import type { HttpApp } from '../modules/module.js';
import { createLogger } from '../observability/logger.js';
import { redisSkipReason, redisUrl } from '../testing/index.js';
import { createHttpServer } from './server.js';

const skip = await redisSkipReason();
if (skip && process.env.REQUIRE_BROKERS !== '1') console.warn(`[rate-limit store] skipped: ${skip}`);

describe.skipIf(skip !== undefined && process.env.REQUIRE_BROKERS !== '1')('rate limits in Redis', () => {
  const apps: HttpApp[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close();
  });

  async function server(namespace: string, env: Record<string, string> = {}): Promise<HttpApp> {
    const config = loadConfig(
      { REDIS_URL: redisUrl, BUS_NAMESPACE: namespace, RATE_LIMIT_STORE: 'redis', ...env },
      [],
    );
    const app = await createHttpServer(createLogger('silent'), config);
    app.get('/limited', { config: { rateLimit: { max: 3, timeWindow: '1 minute' } } }, async () => ({
      ok: true,
    }));
    await app.ready();
    apps.push(app);
    return app;
  }

  it('counts one client across two instances', async () => {
    if (skip) throw new Error(`Redis is required (REQUIRE_BROKERS=1): ${skip}`);
    const namespace = `rl-${randomBytes(4).toString('hex')}`;
    const [a, b] = [await server(namespace), await server(namespace)];
    const hit = (app: HttpApp, remoteAddress = '10.1.2.3') =>
      app.inject({ method: 'GET', url: '/limited', remoteAddress });
    expect((await hit(a)).statusCode).toBe(200);
    expect((await hit(b)).statusCode).toBe(200);
    expect((await hit(a)).statusCode).toBe(200);
    const refused = await hit(b);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.headers['retry-after']).toBeDefined();
    // another client is counted apart
    expect((await hit(b, '10.9.9.9')).statusCode).toBe(200);
    // another deployment (namespace) is counted apart
    expect((await hit(await server(`${namespace}-other`))).statusCode).toBe(200);
  });

  it('shares app.rateCounters across instances: add, peek, take back and clear see one count', async () => {
    if (skip) throw new Error(`Redis is required (REQUIRE_BROKERS=1): ${skip}`);
    const namespace = `rl-${randomBytes(4).toString('hex')}`;
    const [a, b] = [(await server(namespace)).rateCounters, (await server(namespace)).rateCounters];
    expect(await a.peek('failures')).toEqual({ count: 0, resetInMs: 0 });
    expect(await a.add('failures', 60_000)).toMatchObject({ count: 1 });
    const second = await b.add('failures', 60_000);
    expect(second.count).toBe(2);
    expect(second.resetInMs).toBeGreaterThan(0);
    expect(second.resetInMs).toBeLessThanOrEqual(60_000);
    expect((await a.peek('failures')).count).toBe(2);
    await b.takeBack('failures');
    expect((await a.peek('failures')).count).toBe(1);
    await a.takeBack('failures');
    await a.takeBack('failures'); // never below zero
    expect((await b.peek('failures')).count).toBe(0);
    await a.add('failures', 60_000);
    await b.clear('failures');
    expect(await a.peek('failures')).toEqual({ count: 0, resetInMs: 0 });
    // another deployment (namespace) is counted apart
    await a.add('failures', 60_000);
    expect((await (await server(`${namespace}-other`)).rateCounters.peek('failures')).count).toBe(0);
  });

  it('believes X-Forwarded-For only from TRUST_PROXY addresses', async () => {
    if (skip) throw new Error(`Redis is required (REQUIRE_BROKERS=1): ${skip}`);
    const namespace = `rl-${randomBytes(4).toString('hex')}`;
    const behind = await server(namespace, { TRUST_PROXY: '127.0.0.1' });
    const fromGateway = (client: string) =>
      behind.inject({
        method: 'GET',
        url: '/limited',
        remoteAddress: '127.0.0.1',
        headers: { 'x-forwarded-for': client },
      });
    for (let i = 0; i < 3; i++) expect((await fromGateway('10.0.0.1')).statusCode).toBe(200);
    expect((await fromGateway('10.0.0.1')).statusCode).toBe(429);
    expect((await fromGateway('10.0.0.2')).statusCode).toBe(200);
  });
});
