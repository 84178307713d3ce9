import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../config.js';
import { assertPortFree, browsableUrl, listenError, listeningLine } from './listen.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A loopback port held open by this test. */
async function occupiedPort(): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('the port check before a start', () => {
  it('names PORT when the port is in use', async () => {
    const port = await occupiedPort();
    const error = await assertPortFree({ host: '127.0.0.1', port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      `PORT: 127.0.0.1:${port} is already in use (another process listens there: stop it, or set PORT)`,
    );
  });

  it('passes on a free port, and leaves it free', async () => {
    const port = await occupiedPort();
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
    await assertPortFree({ host: '127.0.0.1', port });
    await assertPortFree({ host: '127.0.0.1', port }); // the probe closed: the port is free again
  });

  it('skips PORT=0 (any free port)', async () => {
    await expect(assertPortFree({ host: '127.0.0.1', port: 0 })).resolves.toBeUndefined();
  });

  it('names HOST when it is not an address of this machine', () => {
    const error = listenError(Object.assign(new Error('x'), { code: 'EADDRNOTAVAIL' }), {
      host: '10.255.255.1',
      port: 3000,
    });
    expect(error?.message).toBe('HOST: 10.255.255.1 is not an address of this machine');
    expect(listenError(new Error('other'), { host: '::1', port: 1 })).toBeUndefined();
  });
});

describe('the listening line', () => {
  it('names the URL, the transport, the modules, /docs and /admin in one line', () => {
    const line = listeningLine({
      url: 'http://127.0.0.1:3000',
      transport: 'memory',
      modules: ['users', 'orders'],
      availableModules: ['orders', 'users'],
    });
    expect(line).toBe(
      'modulith listening on http://127.0.0.1:3000 (transport memory, modules: all)' +
        ' — API docs http://127.0.0.1:3000/docs, admin http://127.0.0.1:3000/admin',
    );
    expect(line).not.toContain('\n');
  });

  it('lists the modules of a process that runs some', () => {
    const line = listeningLine({
      url: 'http://127.0.0.1:3101',
      transport: 'rabbitmq',
      modules: ['orders', 'payments'],
      availableModules: ['orders', 'payments', 'users'],
    });
    expect(line).toContain('(transport rabbitmq, modules: orders,payments)');
  });

  it.each([
    [{ address: '127.0.0.1', port: 3000 }, 'http://127.0.0.1:3000'],
    [{ address: '0.0.0.0', port: 3000 }, 'http://127.0.0.1:3000'],
    [{ address: '::', port: 80 }, 'http://[::1]:80'],
    [{ address: '::1', port: 3000 }, 'http://[::1]:3000'],
  ])('opens %o in a browser as %s', (address, url) => {
    expect(browsableUrl(address)).toBe(url);
  });
});
