import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A Lua script run by EVALSHA, loaded again after a Redis restart (NOSCRIPT). */
class Script {
  readonly #lua: string;
  readonly #sha: string;

  constructor(lua: string) {
    this.#lua = lua;
    this.#sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.#lua, keys.length, ...keys, ...args);
    }
  }
}

/**
 * One lease round for a consumer: registers this instance as a member, renews the partition
 * leases it holds and, when asked, takes free partitions up to a fair share
 * (ceil(partitions / live members)). Time is Redis's own, so instances' clocks may differ.
 * Returns [fairShare, [held partitions…]].
 */
const leaseRound = new Script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id, ttl, partitions, prefix = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
redis.call('ZADD', KEYS[1], now + ttl, id)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], ttl * 10)
local fair = math.ceil(partitions / redis.call('ZCARD', KEYS[1]))
local held = {}
for i = 0, partitions - 1 do
  if redis.call('GET', prefix .. i) == id then
    redis.call('PEXPIRE', prefix .. i, ttl)
    held[#held + 1] = i
  end
end
if ARGV[5] == '1' then
  for i = 0, partitions - 1 do
    if #held >= fair then break end
    if redis.call('SET', prefix .. i, id, 'NX', 'PX', ttl) then held[#held + 1] = i end
  end
end
return {fair, held}
`);

const releaseLease = new Script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/**
 * Puts the jobs a previous holder of a partition left active back at the head of the wait list,
 * in their original order, once none of them is locked any more (a live holder renews its locks;
 * a dead one's expire after lockDuration). Locks holding one of `ARGV[2..]` (tokens of this
 * worker's own finished runs) count as free: nobody works on those jobs any more. BullMQ's own
 * stalled check moves stalled jobs one by one from an unordered set, which can reorder them;
 * this keeps the partition's FIFO order. The active list holds the newest job first, so pushing
 * each to the head of the wait list in that order leaves the oldest first in line.
 * KEYS: active, wait, stalled, marker, events. ARGV: the queue's key prefix, then own tokens.
 * Returns the number of jobs moved, or minus the number still locked (nothing moved).
 */
const restoreOrphans = new Script(`
local active = redis.call('LRANGE', KEYS[1], 0, -1)
local own = {}
for i = 2, #ARGV do own[ARGV[i]] = true end
local locked = 0
for _, id in ipairs(active) do
  local holder = redis.call('GET', ARGV[1] .. id .. ':lock')
  if holder and not own[holder] then locked = locked + 1 end
end
if locked > 0 then return -locked end
local moved = 0
for _, id in ipairs(active) do
  redis.call('SREM', KEYS[3], id)
  redis.call('DEL', ARGV[1] .. id .. ':lock')
  if redis.call('EXISTS', ARGV[1] .. id) == 1 then
    redis.call('RPUSH', KEYS[2], id)
    redis.call('XADD', KEYS[5], 'MAXLEN', '~', 1000, '*', 'event', 'waiting', 'jobId', id, 'prev', 'active')
    moved = moved + 1
  end
end
redis.call('DEL', KEYS[1])
if moved > 0 then redis.call('ZADD', KEYS[4], 0, '0') end
return moved
`);

export interface LeaseRound {
  readonly fairShare: number;
  readonly held: readonly number[];
}

export async function runLeaseRound(
  redis: Redis,
  args: {
    membersKey: string;
    instanceId: string;
    ttlMs: number;
    partitions: number;
    leasePrefix: string;
    acquire: boolean;
  },
): Promise<LeaseRound> {
  const reply = (await leaseRound.run(
    redis,
    [args.membersKey],
    [args.instanceId, args.ttlMs, args.partitions, args.leasePrefix, args.acquire ? '1' : '0'],
  )) as [number, number[]];
  return { fairShare: Number(reply[0]), held: reply[1].map(Number) };
}

export async function runReleaseLease(redis: Redis, leaseKey: string, instanceId: string): Promise<void> {
  await releaseLease.run(redis, [leaseKey], [instanceId]);
}

/** `queueKey` is `<prefix>:<queue>`; `ownTokens` are the tokens of this worker's finished runs. */
export async function runRestoreOrphans(
  redis: Redis,
  queueKey: string,
  ownTokens: readonly string[],
): Promise<number> {
  const keys = ['active', 'wait', 'stalled', 'marker', 'events'].map((suffix) => `${queueKey}:${suffix}`);
  return Number(await restoreOrphans.run(redis, keys, [`${queueKey}:`, ...ownTokens]));
}
