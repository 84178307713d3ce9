import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../kernel/testing/index.js';
import { type Receiver, startReceiver } from './testing/receiver.js';
import { Gauge, SETTLE_MS, type StalledTarget, startStalledTarget } from './testing/stalled-target.js';
import { StandInApp } from './testing/stand-in-app.js';

/**
 * Issue 17, point 12: one user's webhooks to a target that never answers held every delivery slot
 * (8 per process) for as long as their attempts took to time out, so other users' deliveries
 * waited behind them (90 s and more). Real servers on 127.0.0.1 (WEBHOOKS_ALLOW_PRIVATE=1): a
 * stalled target that counts the connections it holds, and a healthy receiver.
 */

const PER_HOST = 2;
const PER_USER = 4;
/** Each attempt to a stalled target holds its slot this long (the default is 5 s). */
const TIMEOUT_MS = 2000;

let receiver: Receiver;
const stalled: StalledTarget[] = [];
let dataDir: string;
let app: StandInApp;

beforeAll(async () => {
  receiver = await startReceiver();
  dataDir = mkdtempSync(join(tmpdir(), 'webhooks-fairness-'));
  app = await StandInApp.start({
    dataDir,
    allowPrivate: true,
    delivery: { timeoutMs: TIMEOUT_MS },
    settings: {
      WEBHOOKS_PER_USER_MAX: '50',
      WEBHOOKS_IN_FLIGHT_PER_HOST: String(PER_HOST),
      WEBHOOKS_IN_FLIGHT_PER_USER: String(PER_USER),
    },
  });
});
afterAll(async () => {
  await app.close();
  await Promise.all([receiver, ...stalled].map((server) => server.close()));
  rmSync(dataDir, { recursive: true, force: true });
});

const stalledTarget = async (shared?: Gauge) => {
  const target = await startStalledTarget(shared);
  stalled.push(target);
  return target;
};

const requestsTo = (targets: readonly StalledTarget[]) => targets.reduce((sum, t) => sum + t.requests, 0);

/**
 * Waits until `targets` have taken `requests` attempts (with every timeout the next ones start),
 * and until the gauges have sampled the last of them.
 */
async function waitForRequests(targets: readonly StalledTarget[], requests: number): Promise<void> {
  await eventually(() => expect(requestsTo(targets)).toBeGreaterThanOrEqual(requests), { timeoutMs: 15_000 });
  await new Promise((resolve) => setTimeout(resolve, 2 * SETTLE_MS));
}

describe('webhook deliveries shared between users', () => {
  it("delivers user B's event within seconds while user A's 50 webhooks hang, at most PER_HOST at a time", async () => {
    const dead = await stalledTarget();
    for (let i = 0; i < 50; i++) await app.subscribe('ava', dead.url(`/ava/${i}`));
    const bob = await app.subscribe('bob', receiver.url('/bob'));
    await app.publishConfirmed('ava');
    await eventually(() => expect(dead.gauge.open).toBeGreaterThanOrEqual(PER_HOST)); // A's backlog is in flight

    const publishedAt = Date.now();
    await app.publishConfirmed('bob');
    await eventually(() => expect(receiver.received('/bob')).toHaveLength(1), { timeoutMs: 10_000 });
    const latencyMs = Date.now() - publishedAt;
    console.info(`webhooks fairness: B delivered ${latencyMs} ms after its event, A's target stalled`);
    expect(latencyMs).toBeLessThan(3000);
    await eventually(async () =>
      expect(await app.deliveries('bob', bob.id)).toMatchObject([{ status: 'delivered', attempts: 1 }]),
    );

    // Two rounds of timeouts later the dead host has still never held more than PER_HOST.
    await waitForRequests([dead], 3 * PER_HOST);
    expect(dead.gauge.peak).toBe(PER_HOST);
  }, 30_000);

  it("holds one user's attempts to PER_USER over all its hosts, and counts no attempt it did not make", async () => {
    const userGauge = new Gauge();
    const hosts = [
      await stalledTarget(userGauge),
      await stalledTarget(userGauge),
      await stalledTarget(userGauge),
    ];
    const hooks: string[] = [];
    for (const [h, host] of hosts.entries()) {
      for (let i = 0; i < 4; i++) hooks.push((await app.subscribe('cal', host.url(`/cal/${h}/${i}`))).id);
    }
    await app.publishConfirmed('cal');
    // 3 hosts × PER_HOST would be 6: the user's bound stops it at 4.
    await eventually(() => expect(userGauge.open).toBe(PER_USER));
    await waitForRequests(hosts, 2 * PER_USER);
    expect(userGauge.peak).toBe(PER_USER);
    expect(Math.max(...hosts.map((h) => h.gauge.peak))).toBeLessThanOrEqual(PER_HOST);

    // A delivery left waiting (its user or host at the bound) has no attempt counted: every
    // recorded attempt is a request a target received (the ones in flight are not recorded yet).
    const attempts = (await Promise.all(hooks.map((id) => app.deliveries('cal', id))))
      .flat()
      .reduce((sum, d) => sum + d.attempts, 0);
    const received = requestsTo(hosts);
    expect(attempts).toBeGreaterThanOrEqual(received - PER_USER);
    expect(attempts).toBeLessThanOrEqual(received);
  }, 30_000);
});
