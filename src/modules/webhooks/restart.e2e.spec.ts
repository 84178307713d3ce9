import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../kernel/testing/index.js';
import { type Receiver, startReceiver, verifySignature } from './testing/receiver.js';
import { StandInApp, type StandInOptions } from './testing/stand-in-app.js';

/** Pending deliveries live in webhooks.db: they outlive the process, and are checked again when sent. */

let receiver: Receiver;
let dataDir: string;
let app: StandInApp | undefined;

const start = async (options: Omit<StandInOptions, 'dataDir'>) => {
  app = await StandInApp.start({ dataDir, ...options });
  return app;
};

beforeAll(async () => {
  receiver = await startReceiver();
  dataDir = mkdtempSync(join(tmpdir(), 'webhooks-restart-'));
});
afterEach(async () => {
  await app?.close();
});
afterAll(async () => {
  await receiver.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('webhook deliveries across restarts', () => {
  it('resumes a pending delivery after the app restarts', async () => {
    receiver.script('/later', 503, 200);
    const slowRetry = { firstRetryDelayMs: 1500 };
    const first = await start({ allowPrivate: true, delivery: slowRetry });
    const hook = await first.subscribe('dee', receiver.url('/later'));
    first.publishConfirmed('dee');
    await eventually(async () =>
      expect(await first.deliveries('dee', hook.id)).toMatchObject([{ status: 'pending', attempts: 1 }]),
    );
    // Closed before the retry is due. The event's inbox record committed: the bus will not bring
    // it again, so only the stored delivery can lead to a second attempt.
    await first.close();
    const second = await start({ allowPrivate: true, delivery: slowRetry });
    await eventually(
      async () =>
        expect(await second.deliveries('dee', hook.id)).toMatchObject([{ status: 'delivered', attempts: 2 }]),
      { timeoutMs: 8000 },
    );
    const requests = receiver.received('/later');
    expect(requests).toHaveLength(2);
    expect(requests[1]?.headers['webhook-id']).toBe(requests[0]?.headers['webhook-id']);
    expect(requests.every((r) => verifySignature(r, hook.secret))).toBe(true);
  });

  it('checks the target again at delivery time: a target that became private is not called', async () => {
    const first = await start({ allowPrivate: true });
    const byName = await first.subscribe('eli', `http://localhost:${receiver.port}/rebound`);
    const byAddress = await first.subscribe('eli', receiver.url('/rebound'));
    await first.close();
    // Created while allowed; now refused, as if the name had been rebound to a private address.
    const second = await start({ allowPrivate: false });
    second.publishConfirmed('eli');
    for (const hook of [byName, byAddress]) {
      await eventually(async () =>
        expect(await second.deliveries('eli', hook.id)).toMatchObject([
          {
            status: 'failed',
            attempts: 3,
            responseStatus: null,
            lastError: expect.stringMatching(/private, loopback or link-local/),
          },
        ]),
      );
    }
    expect(receiver.received('/rebound')).toEqual([]);
  });
  it('routes only the types a subscription names, and routes them again from the stored ones at start', async () => {
    const handledByWebhooks = async (instance: StandInApp) =>
      (await instance.http.inject({ url: '/metrics' })).body
        .split('\n')
        .filter(
          (line) => line.startsWith('bus_messages_handled_total') && line.includes('webhooks.deliveries'),
        );
    const ownData = { dataDir: mkdtempSync(join(tmpdir(), 'webhooks-routes-')), allowPrivate: true };
    const first = await StandInApp.start(ownData);
    app = first;
    await first.publishConfirmed('fay'); // no subscription names order-confirmed: webhooks never sees it
    await eventually(async () =>
      expect(await first.http.kernel.outboxStats()).toContainEqual(
        expect.objectContaining({ module: 'orders', pending: 0 }),
      ),
    );
    // Published: a delivery to webhooks would now be waiting (memory records it in publish) or handled.
    const waiting = await first.http.kernel.transport.stats();
    expect(waiting.find((s) => s.consumer === 'webhooks.deliveries')).toMatchObject({ depth: 0 });
    expect(await handledByWebhooks(first)).toEqual([]);
    const hook = await first.subscribe('fay', receiver.url('/fay'));
    await first.close();

    const second = await StandInApp.start(ownData);
    app = second;
    await second.publishConfirmed('fay');
    await eventually(async () =>
      expect(await second.deliveries('fay', hook.id)).toMatchObject([{ status: 'delivered', attempts: 1 }]),
    );
    expect(await handledByWebhooks(second)).toHaveLength(1);
    await second.close();
    rmSync(ownData.dataDir, { recursive: true, force: true });
  });
});
