import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DependencyUnavailableError, NonRetryableError } from '../../kernel/index.js';
import { createFileChannel, type NotificationChannel, NotificationRejectedError } from './channels.js';
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

  const flaky = () => {
    const state = { calls: 0, healthy: false };
    const channel: NotificationChannel = {
      name: 'flaky',
      async send() {
        state.calls++;
        if (!state.healthy) throw new Error('down');
      },
    };
    return { state, channel };
  };
  const failure = (promise: Promise<void>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error,
    );
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('retries a failed attempt, opens the breaker after consecutive failures, then says the channel is down until it half-opens', async () => {
    const { state, channel } = flaky();
    const send = createResilientSend(channel, { failuresToOpen: 4, attempts: 2, halfOpenAfterMs: 200 });
    await expect(send(note)).rejects.toThrow('down'); // closed: the channel's error, for the kernel to retry
    expect(state.calls).toBe(2); // one retry
    const opening = await failure(send(note));
    expect(state.calls).toBe(4); // four consecutive failures: open
    expect(opening).toBeInstanceOf(DependencyUnavailableError);
    expect(opening).toMatchObject({ dependency: 'notification channel flaky' });
    const fast = await failure(send(note));
    expect(state.calls).toBe(4); // failed fast, the channel was not called
    expect(fast).toBeInstanceOf(DependencyUnavailableError);
    const { retryAfterMs } = fast as DependencyUnavailableError;
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(200); // until the breaker half-opens
    state.healthy = true;
    await sleep(retryAfterMs + 5);
    await send(note); // the trial: it closes the breaker
    expect(state.calls).toBe(5);
  });

  it('says the channel is down for a whole half-open time again when the trial fails', async () => {
    const { state, channel } = flaky();
    const send = createResilientSend(channel, { failuresToOpen: 2, attempts: 1, halfOpenAfterMs: 150 });
    await failure(send(note));
    expect(await failure(send(note))).toBeInstanceOf(DependencyUnavailableError);
    await sleep(160);
    const trial = await failure(send(note)); // the channel is tried once, fails: open again
    expect(state.calls).toBe(3);
    expect(trial).toBeInstanceOf(DependencyUnavailableError);
    expect((trial as DependencyUnavailableError).retryAfterMs).toBeGreaterThan(100);
  });

  it('dead-letters a refused notification at once, and does not count it against the channel', async () => {
    let calls = 0;
    const channel: NotificationChannel = {
      name: 'picky',
      async send(notification) {
        calls++;
        if (notification.address.endsWith('.invalid')) throw new NotificationRejectedError('no such mailbox');
      },
    };
    const send = createResilientSend(channel, { failuresToOpen: 2, attempts: 3 });
    for (let i = 0; i < 5; i++) {
      const refused = await failure(send({ ...note, address: 'nobody@example.invalid' }));
      expect(refused).toBeInstanceOf(NotificationRejectedError);
      expect(refused).toBeInstanceOf(NonRetryableError); // the kernel dead-letters it at once
    }
    expect(calls).toBe(5); // not retried
    await send(note); // the breaker stayed closed
    expect(calls).toBe(6);
  });

  it('abandons a send that hangs', async () => {
    const channel: NotificationChannel = { name: 'hang', send: () => new Promise(() => {}) };
    const send = createResilientSend(channel, { attempts: 1, timeoutMs: 50 });
    await expect(send(note)).rejects.toThrow();
  });
});
