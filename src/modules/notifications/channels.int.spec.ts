import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokenCircuitError } from 'cockatiel';
import { afterEach, describe, expect, it } from 'vitest';
import { createFileChannel, type NotificationChannel } from './channels.js';
import { createResilientSend } from './resilience.js';

const note = { id: 'n1', userId: 'u1', address: 'u1@example.com', kind: 'k', subject: 's', body: 'b' };
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('notification channels', () => {
  it('the file channel appends one JSON line per notification', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'channel-'));
    dirs.push(dir);
    const file = join(dir, 'out', 'notifications.jsonl');
    const channel = createFileChannel(file);
    await channel.send(note);
    await channel.send({ ...note, id: 'n2' });
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((l) => l.id)).toEqual(['n1', 'n2']);
    expect(lines[0]).toMatchObject(note);
  });

  it('retries a failed attempt, opens the breaker after consecutive failures, then fails fast', async () => {
    let calls = 0;
    let healthy = false;
    const channel: NotificationChannel = {
      name: 'flaky',
      async send() {
        calls++;
        if (!healthy) throw new Error('down');
      },
    };
    const send = createResilientSend(channel, { failuresToOpen: 4, attempts: 2, halfOpenAfterMs: 200 });
    await expect(send(note)).rejects.toThrow('down');
    expect(calls).toBe(2); // one retry
    await expect(send(note)).rejects.toThrow('down');
    expect(calls).toBe(4); // four consecutive failures: open
    await expect(send(note)).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(calls).toBe(4); // failed fast, the channel was not called
    healthy = true;
    await new Promise((resolve) => setTimeout(resolve, 250));
    await send(note);
    expect(calls).toBe(5);
  });

  it('abandons a send that hangs', async () => {
    const channel: NotificationChannel = { name: 'hang', send: () => new Promise(() => {}) };
    const send = createResilientSend(channel, { attempts: 1, timeoutMs: 50 });
    await expect(send(note)).rejects.toThrow();
  });
});
