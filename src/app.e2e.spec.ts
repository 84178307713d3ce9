import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHost } from './kernel/host/create-host.js';
import { defineEvent, defineModule, type HttpApp, loadConfig, on } from './kernel/index.js';
import { eventually, freePort } from './kernel/testing/index.js';

const noteAdded = defineEvent({
  type: 'notes.note-added',
  schema: Type.Object({ id: Type.Integer(), text: Type.String() }),
  partitionKey: (d) => String(d.id),
});

const notes = defineModule({
  name: 'notes',
  messages: [noteAdded],
  start: (ctx) =>
    ctx.transact(
      (tx) => void tx.db.run(sql`CREATE TABLE IF NOT EXISTS notes_notes (id INTEGER PRIMARY KEY, text TEXT)`),
    ),
  routes: (app, ctx) => {
    app.post(
      '/notes',
      {
        schema: {
          body: Type.Object({ text: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
        },
      },
      async (request, reply) => {
        const id = ctx.transact((tx) => {
          const row = tx.db.get<{ id: number }>(
            sql`INSERT INTO notes_notes (text) VALUES (${request.body.text}) RETURNING id`,
          );
          tx.stage(noteAdded({ id: row.id, text: request.body.text }));
          return row.id;
        });
        return reply.status(201).send({ id });
      },
    );
  },
});

const seen: { correlationid: string; causationid: string | null }[] = [];
const watcher = defineModule({
  name: 'watcher',
  subscriptions: [
    {
      consumer: 'watcher.notes',

      handlers: [
        on(
          [noteAdded],
          (m) => void seen.push({ correlationid: m.correlationid, causationid: m.causationid }),
        ),
      ],
    },
  ],
});

describe('the app over HTTP', () => {
  let app: HttpApp;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'app-e2e-'));
    const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, ['notes', 'watcher']);
    app = await createHost(config, { catalogue: [notes, watcher] });
  });
  afterAll(async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is live and ready', async () => {
    expect((await app.inject('/health/live')).json()).toEqual({ status: 'pass', checks: {} });
    const ready = await app.inject('/health/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({
      status: 'pass',
      checks: {
        'db:notes': { status: 'pass' },
        'transport:memory': { status: 'pass' },
        subscriptions: { status: 'pass' },
      },
    });
  });

  it('carries the request correlation id into every event it causes', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/notes',
      payload: { text: 'hi' },
      headers: { 'x-correlation-id': 'req-42' },
    });
    expect(response.statusCode).toBe(201);
    expect(response.headers['x-correlation-id']).toBe('req-42');
    await eventually(async () => expect(seen).toContainEqual({ correlationid: 'req-42', causationid: null }));
  });

  it('makes a correlation id when none (or a malformed one) is given', async () => {
    const response = await app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-correlation-id': 'bad id with spaces' },
    });
    expect(response.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['an unknown field', { text: 'a', extra: 1 }, 400, 'HTTP_VALIDATION'],
    ['a wrong type (not coerced)', { text: 5 }, 400, 'HTTP_VALIDATION'],
    ['a missing field', {}, 400, 'HTTP_VALIDATION'],
  ])('answers %s with problem+json and writes nothing', async (_name, payload, status, code) => {
    const before = (await app.inject('/health/live')).statusCode;
    const response = await app.inject({ method: 'POST', url: '/notes', payload });
    expect(before).toBe(200);
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toContain('application/problem+json');
    const body = response.json();
    expect(body).toMatchObject({ status, code, title: 'Bad Request' });
    expect(body.errors.length).toBeGreaterThan(0);
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
    expect((await app.kernel.outboxStats()).find((s) => s.module === 'notes')?.pending).toBe(0);
  });

  it('answers malformed JSON with 400 and a body over 1 MiB with 413', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/notes',
      payload: '{"text":',
      headers: { 'content-type': 'application/json' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('HTTP_INVALID_JSON');
    const big = await app.inject({
      method: 'POST',
      url: '/notes',
      payload: { text: 'x'.repeat(1024 * 1024 + 1) },
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().code).toBe('HTTP_BODY_TOO_LARGE');
  });

  it('exposes the bus, outbox, saga and HTTP metrics in Prometheus text', async () => {
    await app.inject({ method: 'POST', url: '/notes', payload: { text: 'counted' } });
    await eventually(async () => {
      const text = (await app.inject('/metrics')).body;
      const notes = { module: 'notes', type: 'notes.note-added', transport: 'memory' };
      expect(sample(text, 'bus_messages_published_total', notes)).toBeGreaterThan(0);
      const handled = { consumer: 'watcher.notes', type: 'notes.note-added', outcome: 'handled' };
      expect(sample(text, 'bus_messages_handled_total', handled)).toBeGreaterThan(0);
      const latency = { consumer: 'watcher.notes', type: 'notes.note-added' };
      expect(sample(text, 'bus_end_to_end_latency_seconds_count', latency)).toBeGreaterThan(0);
      expect(sample(text, 'outbox_pending_messages', { module: 'notes' })).toBe(0);
      expect(sample(text, 'bus_queue_depth', { consumer: 'watcher.notes' })).toBe(0);
      const http = { method: 'POST', route: '/notes', status_code: '201' };
      expect(sample(text, 'http_request_duration_seconds_count', http)).toBeGreaterThan(0);
      expect(sample(text, 'process_resident_memory_bytes', {})).toBeGreaterThan(0);
    });
  });

  it('answers GET / with links to what it serves: JSON, or a page for a browser', async () => {
    const response = await app.inject('/');
    expect(response.statusCode).toBe(200);
    const links = {
      docs: '/docs',
      errors: '/docs/errors',
      openapi: '/openapi.json',
      asyncapi: '/asyncapi.json',
      admin: '/admin',
      health: '/health/ready',
      metrics: '/metrics',
    };
    expect(response.json()).toEqual({ name: 'modulith', links });
    for (const href of Object.values(links)) {
      // every link leads to a route (/admin answers 401 without a session)
      expect((await app.inject(href)).statusCode, href).not.toBe(404);
    }
    const browser = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
    const page = await app.inject({ url: '/', headers: { accept: browser } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    for (const href of Object.values(links)) expect(page.body).toContain(`href="${href}"`);
    const curl = await app.inject({ url: '/', headers: { accept: '*/*' } });
    expect(curl.json()).toMatchObject({ name: 'modulith' });
  });

  it('answers an unknown route with a 404 problem', async () => {
    const response = await app.inject('/nope');
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ status: 404, code: 'HTTP_NOT_FOUND' });
  });

  it("points a problem's type at its code's entry on /docs/errors, which every process serves", async () => {
    const problem = (await app.inject('/nope')).json();
    expect(problem.type).toBe('/docs/errors#HTTP_NOT_FOUND');
    const page = await app.inject({ url: problem.type.split('#')[0], headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<section id="HTTP_NOT_FOUND">');
    const listed = (await app.inject('/docs/errors')).json();
    expect(listed.errors).toContainEqual(
      expect.objectContaining({ code: 'HTTP_NOT_FOUND', owner: 'kernel' }),
    );
  });

  it('answers a method a path does not have with 405 and the methods it has in allow', async () => {
    const response = await app.inject({ method: 'DELETE', url: '/admin/outbox?x=1' });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD');
    expect(response.json()).toMatchObject({ status: 405, code: 'HTTP_METHOD_NOT_ALLOWED' });
    const put = await app.inject({ method: 'PUT', url: '/admin/dead-letters/d1/replay', payload: {} });
    expect(put.statusCode).toBe(405);
    expect(put.headers.allow).toBe('POST');
  });
});

/** The value of the first sample of `name` whose labels include `labels`, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

function runMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    // PORT=0 unless given: a start checks its port first, and 3000 may be taken on this machine
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

describe('the process (src/main.ts)', () => {
  it('serves /health/ready, then shuts down cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'main-e2e-'));
    const port = await freePort();
    const proc = runMain({ DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info' });
    try {
      const ready = await eventually(
        async () => {
          const response = await fetch(`http://127.0.0.1:${port}/health/ready`);
          expect(response.status).toBe(200);
          return response.json();
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      expect(ready).toMatchObject({ status: 'pass' });
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      expect(proc.output()).toContain('kernel stopped');
    } finally {
      proc.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it.each([
    [
      { TRANSPORT: 'kafka' },
      'Configuration error: TRANSPORT: must be one of memory, bullmq, rabbitmq (got "kafka")',
    ],
    [{ MODULES: 'nope' }, 'Configuration error: MODULES: unknown module "nope"'],
    [{ NODE_ENV: 'production' }, 'Configuration error: JWT_SECRET: is required when NODE_ENV=production'],
    // a module's own setting, read because the process runs the module
    [
      { MODULES: 'gateway', GATEWAY_TIMEOUT_MS: '0' },
      'Configuration error: GATEWAY_TIMEOUT_MS: must be an integer from 1 to 600000 (got "0")',
    ],
  ])('stops at start on bad configuration %o with one line and exit code 1', async (env, line) => {
    const proc = runMain(env);
    expect(await proc.exited).toBe(1);
    expect(proc.output().trim().split('\n')).toEqual([expect.stringContaining(line)]);
  });
});
