/**
 * The gateway in one process (MODULES=gateway) in front of fake upstream services registered in
 * the service registry (Redis): proxying (method, path, query, body, headers both ways,
 * correlation id, traceparent, X-Forwarded-For), round-robin with healthy instances first,
 * failover from a dead instance, edge authentication with the public routes let through, 503
 * `GATEWAY_NO_INSTANCE` naming the module, 504 on a slow instance, 502 without a second try after
 * a connection broken on a POST, an answer streamed (its first bytes reach the client before the
 * instance has sent its last), 404 for a path with `.` or `..` segments, deregistration, and
 * GET /admin/services. Needs Redis; skipped without it (a failure with REQUIRE_BROKERS=1).
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, get as httpGet, type IncomingMessage } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, moduleCatalogue } from '../../src/app.js';
import { type HttpApp, loadConfig } from '../../src/kernel/index.js';
import { createLogger } from '../../src/kernel/observability/logger.js';
import { ServiceRegistry } from '../../src/kernel/registry/registry.js';
import { eventually, redisSkipReason, redisUrl } from '../../src/kernel/testing/index.js';

const skip = await redisSkipReason();
const requireBrokers = process.env.REQUIRE_BROKERS === '1';
if (skip && !requireBrokers) console.warn(`[gateway] skipped: ${skip}`);

const JWT_SECRET = 'gateway-test-secret-0123456789abcdef0123456789';
const TIMEOUT_MS = 600;
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const log = createLogger('silent');

/** An upstream that answers every request with what it received, as instance `name`. */
async function echoServer(name: string): Promise<{ server: FastifyInstance; url: string }> {
  const server = Fastify();
  server.removeAllContentTypeParsers();
  server.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  server.get('/orders/slow', async () => {
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS * 3));
    return { late: true };
  });
  server.all('/*', async (request, reply) =>
    reply
      .status(request.method === 'POST' ? 201 : 200)
      .header('x-upstream', name)
      .send({
        instance: name,
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: request.body ?? null,
      }),
  );
  const url = await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, url };
}

async function closedPortUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

describe.skipIf(skip !== undefined && !requireBrokers)('gateway', () => {
  const namespace = `gw-${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'gateway-'));
  const registries: ServiceRegistry[] = [];
  const upstreams: FastifyInstance[] = [];
  let gateway: HttpApp;
  /** The gateway on a socket too, for what `inject` cannot show: a streamed answer, a path as sent. */
  let gatewayUrl: string;
  let userToken: string;
  let adminToken: string;

  async function register(
    modules: string[],
    url: string,
    status: 'pass' | 'fail' = 'pass',
  ): Promise<ServiceRegistry> {
    const registry = new ServiceRegistry({ redisUrl, namespace, log, heartbeatMs: 300 });
    registries.push(registry);
    registry.start(async () => ({
      modules,
      url,
      pid: process.pid,
      host: 'test',
      transport: 'memory',
      startedAt: new Date().toISOString(),
      status,
      checks: {},
    }));
    await registry.heartbeat();
    return registry;
  }

  const call = (
    method: string,
    url: string,
    options: { token?: string; body?: string; headers?: Record<string, string> } = {},
  ) =>
    gateway.inject({
      method: method as 'GET',
      url,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined ? { payload: options.body } : {}),
      remoteAddress: '10.20.30.40',
    });

  /** A GET over a socket, its path sent as written (`inject` would resolve `..` and `%2e` first). */
  const rawGet = (path: string, token: string) =>
    new Promise<{ status: number; code: unknown }>((resolve, reject) => {
      const { hostname, port } = new URL(gatewayUrl); // the path goes as an option: a URL would resolve it
      httpGet({ hostname, port, path, headers: { authorization: `Bearer ${token}` } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            code: JSON.parse(Buffer.concat(chunks).toString()).code,
          }),
        );
      }).on('error', reject);
    });

  beforeAll(async () => {
    if (skip) throw new Error(`Redis is required (REQUIRE_BROKERS=1): ${skip}`);
    const config = loadConfig(
      {
        MODULES: 'gateway',
        DATA_DIR: dataDir,
        REDIS_URL: redisUrl,
        BUS_NAMESPACE: namespace,
        JWT_SECRET,
        GATEWAY_TIMEOUT_MS: String(TIMEOUT_MS),
        LOG_LEVEL: 'silent',
      },
      moduleCatalogue.map((module) => module.name),
    );
    gateway = await buildApp(config);
    gatewayUrl = await gateway.listen({ port: 0, host: '127.0.0.1' });
    userToken = gateway.jwt.sign({ sub: 'user-1', role: 'user' }, { expiresIn: 600 });
    adminToken = gateway.jwt.sign({ sub: 'admin-1', role: 'admin' }, { expiresIn: 600 });
  });

  afterAll(async () => {
    for (const registry of registries) await registry.stop();
    for (const upstream of upstreams) await upstream.close();
    await gateway?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 GATEWAY_NO_INSTANCE naming the module when none is registered', async () => {
    const reply = await call('GET', '/payments/account', { token: userToken });
    expect(reply.statusCode).toBe(503);
    expect(reply.headers['content-type']).toContain('application/problem+json');
    expect(reply.headers['retry-after']).toBe('1');
    expect(reply.json()).toMatchObject({ status: 503, code: 'GATEWAY_NO_INSTANCE' });
    expect(reply.json().detail).toContain('"payments"');
  });

  it('verifies the token at the edge; register, login and the catalogue are public', async () => {
    for (const [method, url] of [
      ['GET', '/orders'],
      ['POST', '/orders'],
      ['GET', '/payments/account'],
      ['POST', '/inventory/products'],
      ['PATCH', '/inventory/products/mug'],
      ['GET', '/users/me'],
      ['GET', '/analytics/summary'],
    ] as const) {
      const reply = await call(method, url, {
        token: method === 'GET' && url === '/orders' ? 'not-a-jwt' : undefined,
      });
      expect({ method, url, status: reply.statusCode, code: reply.json().code }).toEqual({
        method,
        url,
        status: 401,
        code: 'AUTH_INVALID_TOKEN',
      });
    }
    // public: past the edge (no instance yet, so 503, not 401)
    for (const [method, url] of [
      ['POST', '/auth/login'],
      ['POST', '/auth/register'],
      ['GET', '/inventory/products'],
      ['GET', '/inventory/products/mug'],
    ] as const) {
      expect((await call(method, url, { body: method === 'POST' ? '{}' : undefined })).statusCode).toBe(503);
    }
  });

  it('proxies method, path, query, body and headers both ways, round-robin over healthy instances', async () => {
    const a = await echoServer('a');
    const b = await echoServer('b');
    upstreams.push(a.server, b.server);
    await register(['orders'], a.url);
    await register(['orders', 'payments'], b.url);
    // the gateway polls the registry: wait until it knows both
    await eventually(
      async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 4; i++)
          seen.add((await call('GET', '/orders', { token: userToken })).json().instance);
        expect(seen).toEqual(new Set(['a', 'b']));
      },
      { timeoutMs: 5000 },
    );

    const reply = await call('POST', '/orders?x=1&y=%2F', {
      token: userToken,
      body: '{"items":[{"sku":"mug","quantity":2}]}',
      headers: {
        'x-correlation-id': 'corr-123',
        'idempotency-key': 'k-1',
        traceparent: TRACEPARENT,
        'keep-alive': 'timeout=5',
        connection: 'x-hop',
        'x-hop': 'for the gateway only',
      },
    });
    expect(reply.statusCode).toBe(201);
    expect(reply.headers['x-correlation-id']).toBe('corr-123');
    expect(reply.headers['x-upstream']).toMatch(/^[ab]$/);
    // the instance's connection headers (keep-alive with the gateway) stay between them
    expect(reply.headers).not.toHaveProperty('keep-alive');
    const seen = reply.json();
    expect(seen).toMatchObject({
      method: 'POST',
      url: '/orders?x=1&y=%2F',
      body: '{"items":[{"sku":"mug","quantity":2}]}',
    });
    expect(seen.headers).toMatchObject({
      authorization: `Bearer ${userToken}`,
      'x-correlation-id': 'corr-123',
      'idempotency-key': 'k-1',
      'x-forwarded-for': '10.20.30.40',
      'content-type': 'application/json',
      traceparent: TRACEPARENT,
    });
    expect(seen.headers).not.toHaveProperty('keep-alive');
    expect(seen.headers).not.toHaveProperty('x-hop');

    const order: string[] = [];
    for (let i = 0; i < 6; i++)
      order.push((await call('GET', '/orders', { token: userToken })).json().instance);
    expect(new Set(order)).toEqual(new Set(['a', 'b']));
    for (let i = 1; i < order.length; i++) expect(order[i]).not.toBe(order[i - 1]);
  });

  it('prefers healthy instances, fails over from a dead one, and answers 503 when all are down', async () => {
    const healthy = await echoServer('healthy');
    const unready = await echoServer('unready');
    upstreams.push(healthy.server, unready.server);
    await register(['notifications'], unready.url, 'fail');
    await eventually(
      async () =>
        expect((await call('GET', '/notifications', { token: userToken })).json().instance).toBe('unready'),
      {
        timeoutMs: 5000,
      },
    );
    await register(['notifications'], healthy.url);
    await eventually(
      async () =>
        expect((await call('GET', '/notifications', { token: userToken })).json().instance).toBe('healthy'),
      {
        timeoutMs: 5000,
      },
    );
    for (let i = 0; i < 4; i++) {
      expect((await call('GET', '/notifications', { token: userToken })).json().instance).toBe('healthy');
    }

    // a dead instance (registered, nothing listening) next to a live one: every request answered
    const dead = await closedPortUrl();
    await register(['analytics'], dead);
    const live = await echoServer('live');
    upstreams.push(live.server);
    await register(['analytics'], live.url);
    await eventually(
      async () =>
        expect((await call('GET', '/analytics/summary', { token: adminToken })).statusCode).toBe(200),
      {
        timeoutMs: 5000,
      },
    );
    for (let i = 0; i < 4; i++) {
      const reply = await call('POST', '/analytics/rebuild', { token: adminToken, body: '{}' });
      expect(reply.statusCode).toBe(201);
      expect(reply.json().instance).toBe('live');
    }
    await live.server.close();
    const down = await call('GET', '/analytics/summary', { token: adminToken });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({ code: 'GATEWAY_NO_INSTANCE' });
    expect(down.json().detail).toContain('"analytics"');
  });

  it('answers 504 when an instance does not answer within GATEWAY_TIMEOUT_MS', async () => {
    const startedAt = Date.now();
    const reply = await call('GET', '/orders/slow', { token: userToken });
    expect(reply.statusCode).toBe(504);
    expect(reply.json()).toMatchObject({ code: 'GATEWAY_TIMEOUT' });
    expect(Date.now() - startedAt).toBeLessThan(TIMEOUT_MS * 2.5);
  });

  it('answers 502 without a second try when the connection breaks on a POST; tries a GET on the next instance', async () => {
    const hits: string[] = [];
    /** An instance that drops the connection on every request but its probe. */
    const breaker = async (name: string) => {
      const server = Fastify();
      server.get('/inventory/ping', async () => ({ instance: name }));
      server.all('/*', (request) => {
        hits.push(`${request.method} ${name}`);
        request.raw.socket.destroy();
      });
      upstreams.push(server);
      await register(['inventory'], await server.listen({ port: 0, host: '127.0.0.1' }));
    };
    await breaker('x');
    await breaker('y');
    await eventually(
      async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 4; i++) {
          seen.add((await call('GET', '/inventory/ping', { token: userToken })).json().instance);
        }
        expect(seen).toEqual(new Set(['x', 'y']));
      },
      { timeoutMs: 5000 },
    );

    const post = await call('POST', '/inventory/products', { token: adminToken, body: '{"sku":"mug"}' });
    expect(post.statusCode).toBe(502);
    expect(post.json()).toMatchObject({ code: 'GATEWAY_UPSTREAM_FAILED' });
    expect(hits).toHaveLength(1); // the instance may have acted on it: not sent again

    const get = await call('GET', '/inventory/products/mug');
    expect(get.statusCode).toBe(503);
    expect(get.json()).toMatchObject({ code: 'GATEWAY_NO_INSTANCE' });
    expect(get.json().detail).toContain('2 tried');
    expect(hits.slice(1).sort()).toEqual(['GET x', 'GET y']);
  });

  it('streams a large answer: the client has its first bytes before the instance has sent its last', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    const chunks = 50; // 50 MiB, three times the former forwarder's 16 MB buffer
    let clientHasBytes = () => {};
    const clientGotBytes = new Promise<void>((resolve) => {
      clientHasBytes = resolve;
    });
    let upstreamDoneAt = Number.POSITIVE_INFINITY;
    const upstream = createHttpServer(async (request, response) => {
      if (request.url !== '/webhooks/export') return response.end(); // the probe below: registered yet?
      response.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(chunk.length * chunks),
      });
      for (let i = 1; i < chunks; i++) {
        if (!response.write(chunk)) await once(response, 'drain');
        await sleep(2);
      }
      // the last chunk waits for the client's first bytes: a gateway that buffers passes none on
      // before this end, so it fails here (after 5 s) instead of passing on timing luck
      await Promise.race([clientGotBytes, sleep(5000)]);
      upstreamDoneAt = performance.now(); // nothing of the last chunk can have reached anyone yet
      response.end(chunk);
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    await register(['webhooks'], `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
    await eventually(
      async () => expect((await call('GET', '/webhooks/ping', { token: userToken })).statusCode).toBe(200),
      { timeoutMs: 5000 },
    );

    const startedAt = performance.now();
    let firstBytesAt = Number.POSITIVE_INFINITY;
    let received = 0;
    try {
      const response = await new Promise<IncomingMessage>((resolve, reject) =>
        httpGet(
          `${gatewayUrl}/webhooks/export`,
          { headers: { authorization: `Bearer ${userToken}` } },
          resolve,
        ).on('error', reject),
      );
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-length']).toBe(String(chunk.length * chunks));
      for await (const data of response as AsyncIterable<Buffer>) {
        if (received === 0) {
          firstBytesAt = performance.now();
          clientHasBytes();
        }
        received += data.length;
      }
    } finally {
      upstream.close();
    }
    console.log(
      `[gateway] 50 MiB streamed: first bytes after ${Math.round(firstBytesAt - startedAt)} ms, the instance's last after ${Math.round(upstreamDoneAt - startedAt)} ms`,
    );
    expect(received).toBe(chunk.length * chunks);
    expect(Number.isFinite(upstreamDoneAt)).toBe(true);
    expect(firstBytesAt).toBeLessThan(upstreamDoneAt);
  });

  it('proxies only the modules of the build, and only paths an instance reads as written (404)', async () => {
    const reply = await call('GET', '/shipping', { token: userToken });
    expect(reply.statusCode).toBe(404);
    expect(reply.json()).toMatchObject({ code: 'HTTP_NOT_FOUND' });
    // nor a path the instance would read as another one, maybe outside the module's prefixes
    for (const path of [
      '/orders/../admin/outbox',
      '/orders/%2e%2e/admin/outbox',
      '/orders/..%2Fadmin/outbox',
      '/orders/..\\admin',
    ]) {
      expect({ path, ...(await rawGet(path, userToken)) }).toEqual({
        path,
        status: 404,
        code: 'HTTP_NOT_FOUND',
      });
    }
  });

  it('refuses bodies over 1 MiB at the edge (413)', async () => {
    const reply = await call('POST', '/orders', {
      token: userToken,
      body: `"${'x'.repeat(1024 * 1024 + 10)}"`,
    });
    expect(reply.statusCode).toBe(413);
  });

  it('lists the instances in GET /admin/services (admins only), and stops routing to a deregistered one', async () => {
    expect((await call('GET', '/admin/services', { token: userToken })).statusCode).toBe(403);
    const listed = (await call('GET', '/admin/services', { token: adminToken })).json() as {
      modules: string[];
      url: string;
      status: string;
      heartbeatAgeMs: number;
    }[];
    expect(listed.filter((i) => i.modules.includes('orders')).map((i) => i.status)).toEqual(['pass', 'pass']);
    for (const instance of listed) expect(instance.heartbeatAgeMs).toBeLessThan(5000);

    const only = await echoServer('only');
    upstreams.push(only.server);
    const registry = await register(['users'], only.url);
    await eventually(
      async () => expect((await call('GET', '/users/me', { token: userToken })).statusCode).toBe(200),
      {
        timeoutMs: 5000,
      },
    );
    await registry.stop();
    await eventually(
      async () => expect((await call('GET', '/users/me', { token: userToken })).statusCode).toBe(503),
      {
        timeoutMs: 5000,
      },
    );
  });
});
