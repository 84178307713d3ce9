/**
 * Recovery that does not cancel paid orders, on each broker: a deployment per broker, each with a
 * broker of its own on free ports and real processes (deployment.ts: front + two payments
 * instances), with the default 30 s saga step timeout.
 *
 * - `kill -9` of one payments instance under 80 orders/s, one broker at a time: the other instance
 *   takes its partitions and the jobs it held over (BullMQ: about 3 s after its last heartbeat;
 *   RabbitMQ: its partition locks go with its connection) while the stream goes on; then the
 *   killed instance is started again.
 * - A 60 s outage of the broker, on every deployment at once (each its own broker; side by side
 *   to keep the suite short), under 30 orders/s each: orders are accepted into the outbox
 *   meanwhile, and flow once the broker is back. The step deadlines do not count the outage, nor
 *   the backlog it leaves (which takes longer than the step timeout to drain).
 *
 * After each, as users and an operator see it (orders.ts `checkOutcome`): every order placed is
 * confirmed, none cancelled for timeout, each charged exactly once, the stock exact, no outbox row
 * pending, no dead letter, no saga left running. The figures are printed (orders, takeover and
 * drain times, order-to-terminal latencies, step deadlines that came due), never asserted.
 *
 * A broker whose server is not installed (redis-server, rabbitmq-server) is skipped with a printed
 * reason; a failure with REQUIRE_BROKERS=1. RECOVERY_BROKERS=bullmq runs one broker only;
 * RECOVERY_KEEP_DATA=1 keeps the data directories; RECOVERY_LOG_LEVEL sets the processes' log
 * level (warn); RECOVERY_OUTAGE_RATE sets the outage case's orders/s per broker (30: two brokers
 * side by side at 80/s do not fit this file's time in CI; `RECOVERY_BROKERS=rabbitmq
 * RECOVERY_OUTAGE_RATE=80` measures one broker at 80/s).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDist } from '../start/projects.js';
import { type Broker, privateBrokerMissing, RecoveryDeployment } from './deployment.js';
import {
  allEnded,
  checkOutcome,
  frontFigures,
  OrderStream,
  openShop,
  type PlacedOrder,
  type Shop,
  takeoverMs,
} from './orders.js';

const KILL_RATE = 80;
/** Orders/s per broker through the outage; RECOVERY_OUTAGE_RATE=80 for the one-broker measurement. */
const OUTAGE_RATE = Number(process.env.RECOVERY_OUTAGE_RATE ?? 30);
const USERS = 10;
const PARTITIONS = 16; // BUS_PARTITIONS' default
const KILL_AFTER_MS = 4000;
const AFTER_KILL_MS = 10_000;
const BEFORE_OUTAGE_MS = 3000;
const OUTAGE_MS = 60_000;
const AFTER_OUTAGE_MS = 5000;
const DRAIN_TIMEOUT_MS = 240_000;

const requested = (process.env.RECOVERY_BROKERS ?? 'bullmq,rabbitmq').split(',');
const brokers = (['bullmq', 'rabbitmq'] as const).filter((broker) => requested.includes(broker));
const missing = new Map(brokers.map((broker) => [broker, privateBrokerMissing(broker)] as const));
const available = brokers.filter((broker) => missing.get(broker) === undefined);
for (const [broker, reason] of missing) {
  if (reason && process.env.REQUIRE_BROKERS !== '1') console.warn(`recovery on ${broker} skipped: ${reason}`);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** One broker's deployment, its shop, and every order placed on it so far. */
interface Site {
  readonly broker: Broker;
  readonly deployment: RecoveryDeployment;
  readonly shop: Shop;
  readonly placed: PlacedOrder[];
}

/**
 * Runs a stream of orders on `site` around `during`, then waits until every order placed there has
 * ended and checks them all; prints the figures.
 */
async function underLoad(
  site: Site,
  phase: string,
  rate: number,
  during: () => Promise<string>,
): Promise<void> {
  const { broker, deployment, shop } = site;
  const stream = new OrderStream(deployment.api('front'), shop, rate);
  stream.phase = phase;
  stream.start();
  let story = '';
  try {
    story = await during();
  } finally {
    const sent = await stream.stop();
    story += `; ${sent.sent} orders sent in ${seconds(sent.seconds * 1000)} (${(sent.sent / sent.seconds).toFixed(1)}/s)`;
  }
  expect(stream.refused, 'orders the front refused').toEqual([]);
  site.placed.push(...stream.placed);
  const stoppedAt = performance.now();
  await allEnded(deployment.api('front'), shop.admin, site.placed.length, DRAIN_TIMEOUT_MS).catch((error) => {
    throw new Error(`${String(error)}\n${deployment.tails()}`);
  });
  story += `; every order ended ${seconds(performance.now() - stoppedAt)} after the stream stopped`;
  const outcome = await checkOutcome(deployment, shop, site.placed);
  const [p50, p99, max] = outcome.latencyMs;
  const figures = await frontFigures(deployment);
  console.info(
    `${broker} ${phase}: ${story}.\n${broker} ${phase}: ${stream.placed.length} orders placed in this phase ` +
      `(${outcome.placed} in all): ${outcome.confirmed} confirmed, ${outcome.cancelledForTimeout} cancelled ` +
      `for timeout; order to terminal p50 ${p50} ms, p99 ${p99} ms, max ${max} ms; step timeouts ` +
      `received by the saga so far ${figures.stepTimeouts} (none applied: every order confirmed); ` +
      `longest event-loop stall of the front in this phase ${figures.eventLoopMaxMs} ms`,
  );
}

(available.length === 0 && process.env.REQUIRE_BROKERS !== '1' ? describe.skip : describe)(
  'recovery under load, with the default saga step timeout',
  () => {
    const sites = new Map<Broker, Site>();
    const site = (broker: Broker): Site => {
      const found = sites.get(broker);
      if (!found) throw new Error(`no ${broker} deployment`);
      return found;
    };

    beforeAll(async () => {
      const unmet = [...missing].filter(([, reason]) => reason !== undefined);
      if (unmet.length > 0 && process.env.REQUIRE_BROKERS === '1') {
        throw new Error(`REQUIRE_BROKERS=1: ${unmet.map(([b, reason]) => `${b}: ${reason}`).join('; ')}`);
      }
      await freshDist();
      await Promise.all(
        available.map(async (broker) => {
          const deployment = await RecoveryDeployment.start(broker);
          sites.set(broker, { broker, deployment, shop: await openShop(deployment, USERS), placed: [] });
        }),
      );
    }, 240_000);

    afterAll(async () => {
      await Promise.all([...sites.values()].map(({ deployment }) => deployment.dispose()));
    }, 60_000);

    for (const broker of available) {
      it(`${broker}: kill -9 of a payments instance under ${KILL_RATE} orders/s; its partitions are taken over, no order is cancelled`, async () => {
        const { deployment } = site(broker);
        await underLoad(site(broker), 'kill', KILL_RATE, async () => {
          await sleep(KILL_AFTER_MS);
          const killedAt = performance.now();
          await deployment.kill('payments-1');
          const takeover = await takeoverMs(deployment, 'payments-2', PARTITIONS, killedAt);
          await sleep(Math.max(0, AFTER_KILL_MS - (performance.now() - killedAt)));
          return `payments-2 held every partition of payments ${seconds(takeover)} after the kill -9 of payments-1`;
        });
        await deployment.run('payments-1'); // started again, as a supervisor would
      }, 240_000);
    }

    it(`a ${OUTAGE_MS / 1000} s outage of each broker (${available.join(', ')}; side by side) under ${OUTAGE_RATE} orders/s: orders wait in the outbox, all end confirmed`, async () => {
      await Promise.all(
        available.map((broker) =>
          underLoad(site(broker), 'outage', OUTAGE_RATE, async () => {
            const { privateBroker } = site(broker).deployment;
            await sleep(BEFORE_OUTAGE_MS);
            await privateBroker.down();
            const downAt = performance.now();
            await sleep(OUTAGE_MS);
            await privateBroker.up();
            const downMs = performance.now() - downAt;
            await sleep(AFTER_OUTAGE_MS);
            return `the broker was down ${seconds(downMs)}, the stream went on ${seconds(AFTER_OUTAGE_MS)} after`;
          }),
        ),
      );
    }, 420_000);
  },
);
