import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHost } from '../host/create-host.js';
import { defineEvent, defineModule, type HttpApp, loadConfig, on } from '../index.js';
import { redisSkipReason, redisUrl } from '../testing/index.js';
import { ADMIN_COOKIE } from './admin-session.js';

const pinged = defineEvent({
  type: 'pings.pinged',
  schema: Type.Object({ n: Type.Integer() }),
  partitionKey: () => 'p',
});
const pings = defineModule({
  name: 'pings',
  messages: [pinged],
  subscriptions: [{ consumer: 'pings.counter', handlers: [on([pinged], () => {})] }],
});

const skip = await redisSkipReason();
if (skip && process.env.REQUIRE_BROKERS !== '1') console.warn(`skipping bull-board test: ${skip}`);

describe.skipIf(skip !== undefined && process.env.REQUIRE_BROKERS !== '1')(
  'bull-board on the BullMQ transport',
  () => {
    let app: HttpApp;
    let dataDir: string;
    const namespace = `bb-${randomBytes(4).toString('hex')}`;
    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'bull-board-'));
      // 4 partitions: the board lists each of them below
      const env = { TRANSPORT: 'bullmq', REDIS_URL: redisUrl, BUS_NAMESPACE: namespace, BUS_PARTITIONS: '4' };
      const config = loadConfig(
        {
          ...env,
          DATA_DIR: dataDir,
          LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
          JWT_SECRET: 'x'.repeat(32),
        },
        ['pings'],
      );
      app = await createHost(config, { catalogue: [pings] });
    });
    afterAll(async () => {
      await app?.close();
      rmSync(dataDir, { recursive: true, force: true });
      const redis = new Redis(redisUrl);
      const keys = await redis.keys(`${namespace}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });

    it('is mounted at /admin/queues for admins only, listing the consumer partitions', async () => {
      const anonymous = await app.inject('/admin/queues');
      expect(anonymous.statusCode, anonymous.body).toBe(401);
      const user = app.jwt.sign({ sub: 'u1', role: 'user' });
      expect(
        (await app.inject({ url: '/admin/queues', headers: { authorization: `Bearer ${user}` } })).statusCode,
      ).toBe(403);
      const admin = { authorization: `Bearer ${app.jwt.sign({ sub: 'a1', role: 'admin' })}` };
      const page = await app.inject({ url: '/admin/queues', headers: admin });
      expect(page.statusCode).toBe(200);
      // the dashboard's session cookie opens it too (its path, /admin, covers the board)
      const cookie = `${ADMIN_COOKIE}=${app.jwt.sign({ sub: 'a1', role: 'admin' })}`;
      const byCookie = await app.inject({ url: '/admin/queues', headers: { cookie } });
      expect(byCookie.statusCode).toBe(200);
      expect(byCookie.body).toBe(page.body);
      expect(page.headers['content-type']).toContain('text/html');
      const api = await app.inject({ url: '/admin/queues/api/queues', headers: admin });
      expect(api.statusCode).toBe(200);
      const names = (api.json() as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
      // the dead letters are /admin's (the store's); the board does not show their broker copies
      expect(names).toEqual(['pings.counter.p0', 'pings.counter.p1', 'pings.counter.p2', 'pings.counter.p3']);
      // the page's script is served, and an action with a body reaches the board
      const script = /src="(static\/js\/[^"]+\.js)"/.exec(page.body)?.[1];
      expect(script).toBeDefined();
      const asset = await app.inject({ url: `/admin/queues/${script}`, headers: admin });
      expect(asset.statusCode).toBe(200);
      expect(asset.headers['content-type']).toContain('javascript');
      const pause = await app.inject({
        method: 'PUT',
        url: '/admin/queues/api/queues/pings.counter.p0/pause',
        headers: { ...admin, 'content-type': 'application/json' },
        payload: '{}',
      });
      expect(pause.statusCode, pause.body).toBe(200);
      const after = await app.inject({ url: '/admin/queues/api/queues', headers: admin });
      const p0 = (after.json() as { queues: { name: string; isPaused: boolean }[] }).queues.find(
        (q) => q.name === 'pings.counter.p0',
      );
      expect(p0?.isPaused).toBe(true);
      // with the session cookie, the board's own page may change things (its browser says it is
      // same-origin), a page of another site may not
      const resume = (site: string) =>
        app.inject({
          method: 'PUT',
          url: '/admin/queues/api/queues/pings.counter.p0/resume',
          headers: { cookie, 'sec-fetch-site': site, 'content-type': 'application/json' },
          payload: '{}',
        });
      expect((await resume('cross-site')).statusCode).toBe(403);
      expect((await resume('same-origin')).statusCode).toBe(200);
    });
  },
);
