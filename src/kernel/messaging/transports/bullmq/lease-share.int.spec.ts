/**
 * The BullMQ lease round (scripts.ts: leaseRound) splitting a consumer's partitions over its
 * instances, on the shared Redis under a prefix of its own: every live instance ends between
 * floor and ceiling of partitions / instances, and partitions change hands only as often as
 * someone lacks one. Instances are simulated: each round is the script, then the instance gives
 * back what is above its share at once (the transport does once the partition's worker is done).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { redisSkipReason, redisUrl } from '../../../testing/brokers.js';
import { instancesKey, leaseKeyPrefix, membersKey } from './keys.js';
import { runBeat, runLeaseRound, runReleaseLease } from './scripts.js';

const skip = await redisSkipReason();
const prefix = `lease-share-${randomUUID().slice(0, 8)}`;
const redis = skip ? undefined : new Redis(redisUrl);

afterAll(async () => {
  if (!redis) return;
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

/** One consumer's instances on Redis; counts the partitions given back. */
function consumer(name: string, partitions: number) {
  const leasePrefix = leaseKeyPrefix(prefix, name);
  const held = new Map<string, number[]>();
  let givenBack = 0;
  const round = async (id: string, judging = false) => {
    if (!redis) throw new Error('no redis');
    const { share, held: mine } = await runLeaseRound(redis, {
      membersKey: membersKey(prefix, name),
      instanceId: id,
      ttlMs: 60_000,
      partitions,
      leasePrefix,
      acquire: true,
      instancesKey: instancesKey(prefix),
      judging,
    });
    const extra = [...mine].sort((a, b) => b - a).slice(0, Math.max(0, mine.length - share));
    for (const partition of extra) await runReleaseLease(redis, `${leasePrefix}${partition}`, id);
    givenBack += extra.length;
    held.set(
      id,
      mine.filter((p) => !extra.includes(p)),
    );
  };
  return {
    round,
    counts: (ids: readonly string[]) => ids.map((id) => held.get(id)?.length ?? 0),
    givenBack: () => givenBack,
  };
}

const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `i${from + i}`);

describe.skipIf(skip)('BullMQ partition leases shared by instances', () => {
  it('splits 16 partitions over 10 instances arriving one by one: every one holds 1 or 2', async () => {
    const c = consumer('alpha.one-by-one', 16);
    const live: string[] = [];
    for (const id of ids(0, 10)) {
      live.push(id);
      for (let round = 0; round < 3; round++) for (const each of live) await c.round(each);
    }
    expect(c.counts(live).sort()).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
  });

  it('gives one partition per newcomer where taking up to the ceiling starved them: 8 at 2, then 2 more', async () => {
    const c = consumer('alpha.late', 16);
    const first = ids(0, 8);
    for (let round = 0; round < 2; round++) for (const id of first) await c.round(id);
    expect(c.counts(first)).toEqual(Array(8).fill(2));
    const before = c.givenBack();
    const all = ids(0, 10);
    for (let round = 0; round < 3; round++) for (const id of all) await c.round(id);
    expect(c.counts(all).sort()).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
    expect(c.givenBack() - before).toBe(2);
  });

  it('leaves standbys when there are more instances than partitions', async () => {
    const c = consumer('alpha.standby', 4);
    const all = ids(0, 6);
    for (let round = 0; round < 2; round++) for (const id of all) await c.round(id);
    expect(c.counts(all).sort()).toEqual([0, 0, 1, 1, 1, 1]);
  });

  it('takes the partitions of a member whose heartbeat expired at once, though its leases run for a minute', async () => {
    if (!redis) throw new Error('no redis');
    const c = consumer('alpha.dead', 8);
    const [alive, doomed] = [`alive-${randomUUID()}`, `doomed-${randomUUID()}`];
    for (const id of [alive, doomed]) await runBeat(redis, instancesKey(prefix), id, 60_000);
    for (let round = 0; round < 2; round++) for (const id of [alive, doomed]) await c.round(id, true);
    expect(c.counts([alive, doomed])).toEqual([4, 4]);
    await runBeat(redis, instancesKey(prefix), doomed, -1); // its heartbeat has expired
    await c.round(alive, false); // not judging (just reconnected): the leases still count
    expect(c.counts([alive])).toEqual([4]);
    await c.round(alive, true);
    expect(c.counts([alive])).toEqual([8]);
  });

  it('judges a member that never wrote a heartbeat (an older build) by its leases alone', async () => {
    const c = consumer('alpha.old-build', 8);
    const [current, older] = [`current-${randomUUID()}`, `older-${randomUUID()}`];
    for (let round = 0; round < 2; round++) for (const id of [current, older]) await c.round(id, true);
    for (let round = 0; round < 2; round++) await c.round(current, true);
    expect(c.counts([current, older])).toEqual([4, 4]);
  });
});
