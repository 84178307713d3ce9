import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListedInstance } from '../../registry/http.js';
import { renderDashboard } from './dashboard-page.js';
import type { InstanceSnapshot } from './dashboard-view.js';
import { gatherDeployment } from './deployment.js';

const snapshot = (modules: string[], letters: number): InstanceSnapshot => ({
  version: '0.0.0',
  transport: 'bullmq',
  modules,
  health: { transport: { status: 'pass' } },
  consumers: [],
  statsProblem: undefined,
  deadLetterGroups:
    letters === 0
      ? []
      : [
          {
            module: modules[0] ?? '',
            consumer: `${modules[0]}.work`,
            queue: `dlq.${modules[0]}.retry`,
            type: `${modules[0]}.thing-happened`,
            error: 'boom',
            count: letters,
            firstFailedAt: '2026-01-01T00:00:00.000Z',
            lastFailedAt: '2026-01-01T00:00:01.000Z',
            sample: '{}',
          },
        ],
  deadLetterTotal: letters,
  sagaCounts: {},
  recentSagas: [],
  outbox: [],
  generatedAt: '2026-01-01T00:00:02.000Z',
});

const listed = (id: string, url: string, modules: string[], self = false): ListedInstance => ({
  id,
  url,
  modules,
  pid: 1,
  host: 'h',
  transport: 'bullmq',
  startedAt: '2026-01-01T00:00:00.000Z',
  heartbeatAt: '2026-01-01T00:00:00.000Z',
  status: 'pass',
  checks: {},
  self,
  heartbeatAgeMs: 0,
});

describe('gatherDeployment', () => {
  /** Two instances of `payments` (one database), answering the snapshot route with a token check. */
  let server: ReturnType<typeof createServer>;
  let url: string;
  let dead: string;
  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.headers.authorization !== 'Bearer t0ken') return void response.writeHead(401).end();
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(snapshot(['payments'], 3)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    dead = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise((resolve) => probe.close(resolve));
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it("reads each instance with the admin's token, shows one that does not answer as unreachable, and counts a shared database's dead letters once", async () => {
    const view = await gatherDeployment({
      services: {
        list: async () => [
          listed('gw', 'http://gw', ['gateway'], true),
          listed('p1', url, ['payments']),
          listed('p2', url, ['payments']),
          listed('gone', dead, ['orders']),
        ],
      },
      self: async () => snapshot(['gateway'], 0),
      token: 't0ken',
    });
    expect(view.instances.map((entry) => [entry.id, entry.snapshot !== undefined])).toEqual([
      ['gw', true],
      ['p1', true],
      ['p2', true],
      ['gone', false],
    ]);
    expect(view.instances[3]?.problem).toMatch(/fetch failed|ECONNREFUSED/);
    expect(view.deadLetterTotal).toBe(3);
    expect(view.deadLetterGroups.map((group) => [group.instance, group.count])).toEqual([['p1', 3]]);

    const page = renderDashboard(view, 'nonce', 5);
    expect(page).toMatch(
      /<tr class="instance" data-instance="gone">[\s\S]*?<span class="fail">unreachable<\/span>/,
    );
    expect(page).toContain('<h2>Instances (4)</h2>');
  });

  it('shows this process alone, saying why, when the registry does not answer', async () => {
    const view = await gatherDeployment({
      services: {
        list: async () => {
          throw new Error('Redis is away');
        },
      },
      self: async () => snapshot(['gateway'], 0),
      token: 't0ken',
    });
    expect(view.instances.map((entry) => entry.self)).toEqual([true]);
    expect(view.registryProblem).toBe('service registry: Redis is away');
  });
});
