import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelopeOf, eventually, freePort, handlerContextWithoutInbox } from '../../kernel/testing/index.js';
import { createEventHandler } from './handlers/on-subscribed-event.js';
import { type Receiver, startReceiver, verifySignature } from './testing/receiver.js';
import { confirmedFor, StandInApp } from './testing/stand-in-app.js';

/** Retries, failures and duplicates against a real receiver on 127.0.0.1 (WEBHOOKS_ALLOW_PRIVATE=1). */

let receiver: Receiver;
let dataDir: string;
let app: StandInApp;

beforeAll(async () => {
  receiver = await startReceiver();
  dataDir = mkdtempSync(join(tmpdir(), 'webhooks-delivery-'));
  app = await StandInApp.start({ dataDir, allowPrivate: true });
});
afterAll(async () => {
  await app.close();
  await receiver.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('webhook deliveries', () => {
  it('retries a receiver answering 500 and delivers on the second attempt, with the same webhook-id', async () => {
    receiver.script('/flaky', 500, 200);
    const hook = await app.subscribe('ann', receiver.url('/flaky'));
    await app.publishConfirmed('ann');
    await eventually(async () =>
      expect(await app.deliveries('ann', hook.id)).toEqual([
        {
          id: expect.any(String),
          eventId: expect.any(String),
          status: 'delivered',
          attempts: 2,
          responseStatus: 200,
          lastError: null,
        },
      ]),
    );
    const [delivery] = await app.deliveries('ann', hook.id);
    const requests = receiver.received('/flaky');
    expect(requests).toHaveLength(2);
    expect(requests.every((r) => verifySignature(r, hook.secret))).toBe(true);
    expect(requests.map((r) => r.headers['webhook-id'])).toEqual([delivery?.id, delivery?.id]);
  });

  it('gives up after the last attempt and says why: error status, refused connection, timeout, redirect', async () => {
    receiver.script('/down', 503);
    receiver.script('/hang', 'hang');
    receiver.script('/moved', { redirectTo: receiver.url('/elsewhere') });
    const closedPort = await freePort();
    const targets: [string, object][] = [
      [receiver.url('/down'), { responseStatus: 503, lastError: 'HTTP 503' }],
      [
        `http://127.0.0.1:${closedPort}/`,
        { responseStatus: null, lastError: expect.stringContaining('ECONNREFUSED') },
      ],
      [receiver.url('/hang'), { responseStatus: null, lastError: 'timed out after 500 ms' }],
      [receiver.url('/moved'), { responseStatus: 302, lastError: 'HTTP 302: redirects are not followed' }],
    ];
    const hooks: string[] = [];
    for (const [url] of targets) hooks.push((await app.subscribe('bea', url)).id);
    await app.publishConfirmed('bea');
    for (const [i, [, outcome]] of targets.entries()) {
      await eventually(
        async () =>
          expect(await app.deliveries('bea', hooks[i] ?? '')).toMatchObject([
            { status: 'failed', attempts: 3, ...outcome },
          ]),
        { timeoutMs: 8000 },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200)); // no fourth attempt
    expect(receiver.received('/down')).toHaveLength(3);
    expect(receiver.received('/moved')).toHaveLength(3);
    expect(receiver.received('/elsewhere')).toEqual([]);
  });

  it('records and sends one delivery for the same event delivered twice, also past the inbox', async () => {
    const hook = await app.subscribe('cy', receiver.url('/once'));
    const event = envelopeOf(confirmedFor('cy'));
    await app.http.kernel.transport.publish([event]);
    await app.http.kernel.transport.publish([event]);
    await eventually(async () =>
      expect(await app.deliveries('cy', hook.id)).toMatchObject([{ status: 'delivered' }]),
    );
    // A replayed dead letter skips the inbox: the handler itself must add nothing for a known event.
    const ctx = app.context('webhooks');
    const handlerCtx = handlerContextWithoutInbox(ctx);
    await createEventHandler(() => {})(event, handlerCtx);
    await new Promise((resolve) => setTimeout(resolve, 200)); // time for a second send, if any
    expect(await app.deliveries('cy', hook.id)).toHaveLength(1);
    expect(receiver.received('/once')).toHaveLength(1);
  });
});
