import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StalledTarget, startStalledTarget } from '../testing/stalled-target.js';
import { postWebhook, type WebhookRequest } from './http-post.js';

/** One attempt against a real target on 127.0.0.1 that accepts the request and never answers. */

// The collector, callable from the spec (as `node --expose-gc` gives it), to collect at will.
setFlagsFromString('--expose_gc');
const collectGarbage = runInNewContext('gc') as () => void;

let target: StalledTarget;
beforeAll(async () => {
  target = await startStalledTarget();
});
afterAll(() => target.close());

const attempt = (signal: AbortSignal): WebhookRequest => ({
  url: target.url('/hook'),
  body: '{}',
  headers: { 'content-type': 'application/json' },
  timeoutMs: 300,
  allowPrivate: true,
  signal,
});

describe('one webhook attempt', () => {
  it('times out a target that never answers, also when a garbage collection runs meanwhile', async () => {
    // Node 20 holds an AbortSignal.timeout() combined by AbortSignal.any() weakly: once collected
    // it never fired (nodejs/node#57736), the attempt hung, and so did the target's connection.
    const startedAt = Date.now();
    const result = postWebhook(attempt(new AbortController().signal));
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      collectGarbage();
    }
    const hung = new Promise((resolve) => setTimeout(() => resolve('no answer after 3 s'), 3000));
    expect(await Promise.race([result, hung])).toEqual({
      ok: false,
      responseStatus: null,
      error: 'timed out after 300 ms',
    });
    expect(Date.now() - startedAt).toBeLessThan(1500);
    await expect.poll(() => target.gauge.open).toBe(0); // and the connection is closed
  });

  it('stops at once when the process shuts down, and says so', async () => {
    const shutdown = new AbortController();
    const result = postWebhook(attempt(shutdown.signal));
    await expect.poll(() => target.gauge.open).toBe(1);
    shutdown.abort();
    expect(await result).toMatchObject({ ok: false, error: 'aborted: the server is shutting down' });
  });
});
