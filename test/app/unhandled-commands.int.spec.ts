/**
 * A process on the memory transport that runs modules whose commands nobody in it handles says
 * so: a warning at start naming the types, and `/health/ready` answering 200 with status `warn`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { moduleCatalogue } from '../../src/app.js';
import { createHost } from '../../src/kernel/host/create-host.js';
import { loadConfig } from '../../src/kernel/index.js';
import { capturingLogger } from '../../src/kernel/testing/start-attempt.js';

const root = mkdtempSync(join(tmpdir(), 'unhandled-commands-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const names = moduleCatalogue.map((module) => module.name);

async function start(modules: string) {
  const { log, lines } = capturingLogger();
  const config = loadConfig({ MODULES: modules, DATA_DIR: join(root, modules), LOG_LEVEL: 'warn' }, names);
  const app = await createHost(config, { catalogue: moduleCatalogue, log });
  return { app, lines };
}

describe('commands nobody in the process handles (memory transport)', () => {
  it('warns at start and reports warn on /health/ready when orders runs without payments and inventory', async () => {
    const { app, lines } = await start('users,inventory,orders');
    try {
      const expected = 'no module of this process handles payments.charge-payment, payments.refund-payment';
      expect(lines.some((line) => line.msg.includes(expected))).toBe(true);
      const ready = await app.inject({ url: '/health/ready' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toMatchObject({
        status: 'warn',
        checks: { commands: { status: 'warn', detail: expect.stringContaining(expected) } },
      });
    } finally {
      await app.close();
    }
  });

  it('says nothing when every command it may send is handled here', async () => {
    const { app, lines } = await start('users,inventory,payments,orders');
    try {
      expect(lines.filter((line) => line.msg.includes('no module of this process handles'))).toEqual([]);
      const ready = await app.inject({ url: '/health/ready' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json().status).toBe('pass');
      expect(ready.json().checks.commands).toBeUndefined();
    } finally {
      await app.close();
    }
  });
});
