/**
 * Ten instances of payments share its work, on each broker: ten kernels in this process, each
 * running the real payments module over one payments database and one broker namespace, with
 * BUS_PARTITIONS at its default (16). A publisher kernel stages charge-payment commands for 160
 * users, several each. Shown: the 16 partitions of payments.account-commands split 1 or 2 per
 * instance, every instance handles some of the charges (its own bus_messages_handled_total), then
 * three instances stop mid-stream and the other seven take their partitions over; every order is
 * charged exactly once, and each user's charges are applied in the order they were published.
 */
import { describe, expect, it } from 'vitest';
import { type Db, defineModule } from '../../src/kernel/index.js';
import { partitionOf } from '../../src/kernel/messaging/transports/partition.js';
import { eventually, type TestKernel } from '../../src/kernel/testing/index.js';
import { depositFunds } from '../../src/modules/payments/commands/deposit-funds.js';
import { chargePayment } from '../../src/modules/payments/contracts.js';
import { readStream } from '../../src/modules/payments/event-store.js';
import { paymentsModule } from '../../src/modules/payments/index.js';
import { BROKERS, handledBy, partitionsOf, useDeployment } from './instances.js';

const CONSUMER = 'payments.account-commands';
const INSTANCES = 10;
const LEAVING = 3;
const USERS = Array.from({ length: 160 }, (_, i) => `user-${i}`);
/** Charges per user while all ten run, then while three of them stop. */
const [BEFORE, DURING] = [3, 2];

const shop = defineModule({ name: 'shop', sends: [chargePayment] });
const orderId = (user: string, n: number) => `${user}-order-${n}`;

/** Stages charges n = from … to - 1 of every user, in that order per user. */
async function stageCharges(publisher: TestKernel, from: number, to: number): Promise<void> {
  const drafts = USERS.flatMap((userId) =>
    Array.from({ length: to - from }, (_, i) =>
      chargePayment({ orderId: orderId(userId, from + i), userId, amountCents: 100 }),
    ),
  );
  await publisher.context('shop').transact((tx) => tx.stage(...drafts));
}

/** Every payment event of the order ids, per user, in stream order. */
const paymentsOf = async (db: Db, user: string): Promise<string[]> =>
  (await readStream(db, user)).flatMap((event) =>
    'orderId' in event.data ? [`${event.type} ${event.data.orderId}`] : [],
  );

const charged = async (db: Db): Promise<number> => {
  let sum = 0;
  for (const user of USERS) sum += (await paymentsOf(db, user)).length;
  return sum;
};

const deploy = useDeployment([CONSUMER]);

describe.each(BROKERS)('%s: ten instances of payments', (broker) => {
  it('share the partitions and the charges; three leave mid-stream; every order charged once, in order per user', async (context) => {
    // precondition: the users' keys fall in every one of the 16 partitions
    expect(new Set(USERS.map((user) => partitionOf(user, 16))).size).toBe(16);
    const current = await deploy(broker, context);
    const instances: TestKernel[] = [];
    for (let i = 0; i < INSTANCES; i++)
      instances.push(await current.start([paymentsModule], `payments-${i}`));
    const publisher = await current.start([shop], 'shop');

    const held = () => Promise.all(instances.map((instance) => partitionsOf(instance, CONSUMER)));
    const split = await eventually(
      async () => {
        const now = await held();
        expect(now.map((p) => p.length).sort()).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
        expect(now.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i));
        return now;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );

    const payments = instances[0]?.context('payments');
    if (!payments) throw new Error('no payments instance');
    for (const userId of USERS) await depositFunds(payments, { userId, amountCents: 1_000_000 });
    await stageCharges(publisher, 0, BEFORE);
    await eventually(async () => expect(await charged(payments.db)).toBe(USERS.length * BEFORE), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    const shares = await Promise.all(instances.map((instance) => handledBy(instance, CONSUMER)));
    console.info(
      `${broker}: partitions per instance ${split.map((p) => p.length)}; charges handled ${shares}`,
    );
    expect(shares.every((n) => n > 0)).toBe(true);
    expect(shares.reduce((sum, n) => sum + n, 0)).toBe(USERS.length * BEFORE);

    await stageCharges(publisher, BEFORE, BEFORE + DURING);
    await eventually(
      async () => expect(await charged(payments.db)).toBeGreaterThan(USERS.length * BEFORE + 40),
      {
        timeoutMs: 10_000,
        intervalMs: 20,
      },
    );
    await Promise.all(instances.slice(INSTANCES - LEAVING).map((instance) => instance.stop()));
    await eventually(async () => expect(await charged(payments.db)).toBe(USERS.length * (BEFORE + DURING)), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    const staying = instances.slice(0, INSTANCES - LEAVING);
    const after = await eventually(
      async () => {
        const now = await Promise.all(staying.map((instance) => partitionsOf(instance, CONSUMER)));
        expect(now.flat()).toHaveLength(16);
        expect(now.every((p) => p.length === 2 || p.length === 3)).toBe(true);
        return now;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    const totals = await Promise.all(instances.map((instance) => handledBy(instance, CONSUMER)));
    console.info(
      `${broker}: after 3 left, partitions ${after.map((p) => p.length)}; charges handled ${totals}`,
    );

    for (const user of USERS) {
      const expected = Array.from(
        { length: BEFORE + DURING },
        (_, n) => `PaymentCharged ${orderId(user, n)}`,
      );
      expect(await paymentsOf(payments.db, user), user).toEqual(expected);
    }
  }, 60_000);
});
