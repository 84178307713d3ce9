import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatLine, paint, parseManifest, planProcesses } from '../../scripts/split-manifest.js';
import { PROJECT_ROOT } from './cluster.js';

describe('split manifest', () => {
  it('reads deploy/split.json: gateway on 3000, two payments instances, everyone on one JWT secret source', () => {
    const manifest = parseManifest(JSON.parse(readFileSync(`${PROJECT_ROOT}/deploy/split.json`, 'utf8')));
    const plans = planProcesses(manifest, {});
    expect(plans.map((p) => [p.name, p.env.MODULES, p.env.PORT])).toEqual([
      ['gateway', 'gateway,users', '3000'],
      ['orders', 'orders', '3101'],
      ['payments-1', 'payments,inventory', '3102'],
      ['payments-2', 'payments,inventory', '3103'],
      ['notify', 'notifications,analytics,webhooks', '3104'],
    ]);
    expect(plans.every((p) => p.env.TRANSPORT === 'rabbitmq')).toBe(true);
  });

  it('lets the shell override the manifest defaults, and a process override both', () => {
    const manifest = parseManifest({
      env: { TRANSPORT: 'rabbitmq', DATA_DIR: './data', LOG_LEVEL: 'info' },
      processes: { api: { modules: ['gateway'], port: 4000, env: { LOG_LEVEL: 'debug' } } },
    });
    const [plan] = planProcesses(manifest, {
      TRANSPORT: 'bullmq',
      LOG_LEVEL: 'warn',
      MODULES: 'orders',
      PORT: '1',
    });
    expect(plan?.env).toEqual({
      TRANSPORT: 'bullmq',
      DATA_DIR: './data',
      LOG_LEVEL: 'debug',
      MODULES: 'gateway',
      PORT: '4000',
    });
    expect(plan?.url).toBe('http://127.0.0.1:4000');
  });

  it.each([
    [{}, '"processes" must be an object'],
    [{ processes: {} }, 'names no process'],
    [{ processes: { Bad_Name: { modules: ['x'], port: 1 } } }, 'names are a-z'],
    [{ processes: { a: { modules: [], port: 1 } } }, 'modules must be a non-empty list'],
    [{ processes: { a: { modules: ['x'], port: 70000 } } }, 'port must be a port number'],
    [{ processes: { a: { modules: ['x'], port: 1, instances: 0 } } }, 'instances must be an integer'],
    [{ processes: { a: { modules: ['x'], port: 1, env: { A: 1 } } } }, 'processes.a.env.A must be a string'],
  ])('refuses %j', (manifest, message) => {
    expect(() => parseManifest(manifest)).toThrow(message);
  });

  it('refuses two processes on one port', () => {
    const manifest = parseManifest({
      processes: { a: { modules: ['x'], port: 3000, instances: 2 }, b: { modules: ['y'], port: 3001 } },
    });
    expect(() => planProcesses(manifest, {})).toThrow('b and a-2 both use port 3001');
  });

  it('gives each instance its own value where an entry says {instance}', () => {
    const manifest = parseManifest({
      processes: {
        pay: { modules: ['payments'], port: 3000, instances: 2, env: { DATA_DIR: './data/{instance}' } },
      },
    });
    expect(planProcesses(manifest, {}).map((plan) => plan.env.DATA_DIR)).toEqual([
      './data/pay-1',
      './data/pay-2',
    ]);
  });

  it('formats pino lines and colours names consistently', () => {
    const line = JSON.stringify({
      level: 40,
      time: Date.UTC(2026, 0, 1, 12, 30, 5, 7),
      pid: 1,
      hostname: 'h',
      msg: 'hello',
      module: 'orders',
    });
    expect(formatLine(line)).toBe('12:30:05.007 WARN  hello {"module":"orders"}');
    expect(formatLine('plain text')).toBe('plain text');
    expect(formatLine('{not json')).toBe('{not json');
    expect(paint('[orders]', 'orders', false)).toBe('[orders]');
    expect(paint('[orders]', 'orders', true)).toBe(paint('[orders]', 'orders', true));
    const ESC = String.fromCharCode(27);
    expect(paint('[orders]', 'orders', true)).toMatch(new RegExp(`^${ESC}\\[\\d+m\\[orders\\]${ESC}\\[0m$`));
  });
});
