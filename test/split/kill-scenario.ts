/**
 * `kill -9` of every payments instance while two users keep ordering through the gateway:
 *
 * - before: the payments instances split every payments consumer's partitions (as evenly as
 *   BUS_PARTITIONS allows, from their /metrics); orders flow; then
 *   every one is killed (pids from GET /admin/services);
 * - during the outage: the gateway keeps answering (orders 202, payments 503 GATEWAY_NO_INSTANCE
 *   naming the module), and the orders placed meanwhile wait in `pending`;
 * - the supervisor restarts both instances (new pids, registered, ready), and they split the
 *   partitions again;
 * - after: more orders; every order ends `confirmed`, each charged exactly once (the account
 *   streams, through the gateway), each user's charges in the order the user placed the orders
 *   (per-key order across instances and the crash), balances exact, one notification per order.
 */
import { expect } from 'vitest';
import { type Account, type Api, type Json, suffix, until } from './api.js';
import type { Proc } from './cluster.js';

const PRICE = 100;
const DEPOSIT = 100_000;
const BEFORE = 4;
const DURING = 6;
const AFTER = 4;

interface Placed {
  readonly user: Account;
  readonly id: string;
  readonly totalCents: number;
  readonly phase: 'before' | 'during' | 'after';
}

async function paymentsInstances(api: Api, admin: string): Promise<Json[]> {
  const services: Json[] = await api.expect(200, 'GET', '/admin/services', { token: admin });
  return services.filter((s) => s.modules.includes('payments'));
}

async function placeSome(
  api: Api,
  users: Account[],
  sku: string,
  count: number,
  phase: Placed['phase'],
  placed: Placed[],
) {
  for (let i = 0; i < count; i++) {
    const user = users[i % users.length] as Account;
    const quantity = 1 + (placed.length % 3);
    const order = await api.placeOrder(user.token, [{ sku, quantity }]);
    expect(order).toMatchObject({ status: 'pending', totalCents: quantity * PRICE });
    placed.push({ user, id: order.id, totalCents: order.totalCents, phase });
  }
}

export async function killPaymentsWhileOrdering(options: {
  api: Api;
  admin: string;
  supervisor: Proc;
  waitMs: number;
  transport: string;
  /** How many payments instances the deployment runs (default 2). */
  instances?: number;
}): Promise<{ before: Record<string, number>; after: Record<string, number> }> {
  const { api, admin, supervisor, waitMs, instances = 2 } = options;
  const sku = `KILL-${suffix().toUpperCase()}`;
  await api.createProduct(admin, sku, PRICE, 10_000);
  const users = await Promise.all([api.register('Kay'), api.register('Lee')]);
  for (const user of users) expect(await api.deposit(user.token, DEPOSIT)).toBe(DEPOSIT);
  const placed: Placed[] = [];

  await placeSome(api, users, sku, BEFORE, 'before', placed);
  const victims = await paymentsInstances(api, admin);
  expect(victims).toHaveLength(instances);
  await expectPartitionsSplit(victims);
  const shareBefore = await shareOfWork(victims);
  for (const victim of victims) process.kill(victim.pid, 'SIGKILL');

  // The outage: the gateway answers, payments has no instance, new orders wait.
  await placeSome(api, users, sku, DURING, 'during', placed);
  const unavailable = await api.call('GET', '/payments/account', { token: users[0]?.token });
  expect(unavailable.status, unavailable.text).toBe(503);
  expect(unavailable.body).toMatchObject({ code: 'GATEWAY_NO_INSTANCE' });
  expect(unavailable.body.detail).toContain('"payments"');
  for (const order of placed.filter((p) => p.phase === 'during')) {
    expect((await api.order(order.user.token, order.id)).status, `order ${order.id} during the outage`).toBe(
      'pending',
    );
  }
  expect((await api.call('GET', '/orders', { token: users[0]?.token })).status).toBe(200);

  // The supervisor restarts both instances; they register again, ready.
  const killedPids = new Set(victims.map((v) => v.pid));
  const isNew = (s: Json) => !killedPids.has(s.pid) && s.status === 'pass';
  // (the killed instances' records may still be listed until their TTL runs out)
  const restarted = (
    await until(
      () => paymentsInstances(api, admin),
      (list) => list.filter(isNew).length === instances,
      60_000,
    ).catch(async (error: unknown) => {
      const health = await Promise.all(
        victims.map((v) =>
          fetch(`${v.url}/health/ready`).then(
            async (r) => `${v.url}: ${r.status} ${await r.text()}`,
            (e: unknown) => `${v.url}: ${String(e)}`,
          ),
        ),
      );
      throw new Error(`payments did not come back: ${String(error)}\n${health.join('\n')}`);
    })
  ).filter(isNew);
  await expectPartitionsSplit(restarted);
  // and the gateway routes to them again
  await until(
    () => api.call('GET', '/payments/account', { token: users[0]?.token }),
    (a) => a.status === 200,
    10_000,
  );
  for (const name of Array.from({ length: instances }, (_, i) => `payments-${i + 1}`)) {
    expect(supervisor.matching(new RegExp(`^\\[split\\] ${name} exited \\(signal SIGKILL\\)`))).toHaveLength(
      1,
    );
  }

  await placeSome(api, users, sku, AFTER, 'after', placed);
  for (const user of users) {
    const mine = placed.filter((p) => p.user === user);
    const orders = await api.waitForTerminal(
      user.token,
      mine.map((p) => p.id),
      waitMs * 1.5,
    );
    for (const order of mine) expect(orders.get(order.id)?.status, order.id).toBe('confirmed');

    // Each order charged once, in the order this user placed them; the balance matches.
    const events: Json[] = await api.accountEvents(user.token);
    expect(events.map((event) => event.version)).toEqual(events.map((_, index) => index + 1));
    const charged = events.filter((e) => e.type === 'PaymentCharged').map((e) => String(e.data.orderId));
    expect(charged, `charges of ${user.email}`).toEqual(mine.map((p) => p.id));
    expect(events.filter((e) => e.type === 'PaymentRefunded')).toEqual([]);
    const spent = mine.reduce((sum, p) => sum + p.totalCents, 0);
    expect(await api.balance(user.token)).toBe(DEPOSIT - spent);

    // One notification per order, and no more.
    const kinds = await until(
      () => api.notificationKinds(user.token),
      (list) => list.length >= mine.length,
      waitMs,
    );
    expect(kinds).toEqual(mine.map(() => 'order-confirmed'));
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (const user of users) {
    expect(await api.notificationKinds(user.token)).toHaveLength(
      placed.filter((p) => p.user === user).length,
    );
  }
  return { before: shareBefore, after: await shareOfWork(restarted) };
}

/** Each payments consumer's partitions are worked half and half by the two instances (bus_partitions_held). */
async function expectPartitionsSplit(instances: readonly Json[]): Promise<void> {
  const held = async () => {
    const byConsumer = new Map<string, number[]>();
    for (const instance of instances) {
      for (const line of (await (await fetch(`${instance.url}/metrics`)).text()).split('\n')) {
        const consumer = /^bus_partitions_held\{consumer="(payments\.[^"]+)"/.exec(line)?.[1];
        if (consumer)
          byConsumer.set(consumer, [...(byConsumer.get(consumer) ?? []), Number(line.split(' ').pop())]);
      }
    }
    return Object.fromEntries(byConsumer);
  };
  const final = await until(
    held,
    (h) =>
      Object.keys(h).length > 0 && Object.values(h).every((counts) => evenlySplit(counts, instances.length)),
    20_000,
  ).catch(async () => held());
  expect(Object.keys(final).length).toBeGreaterThan(0);
  for (const [consumer, counts] of Object.entries(final))
    expect(evenlySplit(counts, instances.length), `${consumer}: ${counts}`).toBe(true);
}

/** `n` instances each holding some partitions, none more than one over another. */
const evenlySplit = (counts: readonly number[], n: number): boolean =>
  counts.length === n && Math.min(...counts) > 0 && Math.max(...counts) - Math.min(...counts) <= 1;

/** Messages each payments instance has handled since it started (from its own /metrics). */
async function shareOfWork(instances: readonly Json[]): Promise<Record<string, number>> {
  const share: Record<string, number> = {};
  for (const instance of instances) {
    const text = await (await fetch(`${instance.url}/metrics`)).text();
    let handled = 0;
    for (const line of text.split('\n')) {
      if (
        line.startsWith('bus_messages_handled_total{') &&
        line.includes('consumer="payments.') &&
        line.includes('outcome="handled"')
      ) {
        handled += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
    }
    share[instance.url] = handled;
  }
  return share;
}
