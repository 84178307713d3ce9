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
 * leases it holds and, when asked, takes free partitions; returns the share this instance should
 * keep, [share, [held partitions…]]. Time is Redis's own, so instances' clocks may differ.
 *
 * The split of P partitions over M live members: everyone at least floor(P/M) and nobody above
 * ceil(P/M). Taking up to the ceiling alone starves the last members to come (16 over 10: eight
 * instances at 2 leave two with none), so the script sees every member's count (it runs
 * atomically over all the leases) and:
 * - takes free partitions up to the floor; beyond it only those no other member needs to reach
 *   its own floor;
 * - when the free partitions do not cover what the others lack, the members above the floor
 *   give one each, the most loaded first (ties by id), as many as are lacking: every instance
 *   ranks the donors the same way, so one giver per missing partition, not all of them. A
 *   partition being given back still counts as held until its lease goes, so it is given once.
 *
 * When asked to judge (ARGV[6], see liveness.ts), a member whose heartbeat in KEYS[2] has expired
 * is dead: it leaves the members at once, and its partitions count as free although their leases
 * have not expired yet. A member with no heartbeat entry (an older build) is judged by its lease.
 */
const leaseRound = new Script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id, ttl, partitions, prefix = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local verdicts = {}
local function dead(member)
  if ARGV[6] ~= '1' or member == id then return false end
  if verdicts[member] == nil then
    local expiry = redis.call('ZSCORE', KEYS[2], member)
    verdicts[member] = expiry ~= false and tonumber(expiry) < now
  end
  return verdicts[member]
end
redis.call('ZADD', KEYS[1], now + ttl, id)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], ttl * 10)
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if dead(member) then redis.call('ZREM', KEYS[1], member) end
end
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
local floor = math.floor(partitions / #members)
local ceil = math.ceil(partitions / #members)
local counts = {}
for _, member in ipairs(members) do counts[member] = 0 end
local held, free = {}, {}
for i = 0, partitions - 1 do
  local owner = redis.call('GET', prefix .. i)
  if owner == id then
    redis.call('PEXPIRE', prefix .. i, ttl)
    held[#held + 1] = i
  elseif owner and not dead(owner) then
    if counts[owner] then counts[owner] = counts[owner] + 1 end
  else
    free[#free + 1] = i
  end
end
local lacking = 0
for member, n in pairs(counts) do
  if member ~= id and n < floor then lacking = lacking + floor - n end
end
local unclaimed = #free
if ARGV[5] == '1' then
  local spare = math.max(0, #free - lacking - math.max(0, floor - #held))
  local want = math.min(ceil, math.max(#held, floor) + spare)
  for _, i in ipairs(free) do
    if #held >= want then break end
    -- free, or held by a dead member: the script runs atomically, so nobody else claims it meanwhile
    redis.call('SET', prefix .. i, id, 'PX', ttl)
    held[#held + 1] = i
    unclaimed = unclaimed - 1
  end
end
counts[id] = #held
local share = math.min(ceil, #held)
if lacking > unclaimed and #held > floor then
  local donors = {}
  for member, n in pairs(counts) do
    if n > floor then donors[#donors + 1] = member end
  end
  table.sort(donors, function(a, b)
    if counts[a] ~= counts[b] then return counts[a] > counts[b] end
    return a < b
  end)
  for rank = 1, math.min(lacking - unclaimed, #donors) do
    if donors[rank] == id then share = math.min(share, #held - 1) end
  end
end
return {share, held}
`);

const releaseLease = new Script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/**
 * Puts the jobs a previous holder of a partition left active back at the head of the wait list,
 * in their original order, once none of them is locked any more (a live holder renews its locks;
 * a dead one's expire after lockDuration). Locks holding one of `ARGV[3..]` (tokens of this
 * worker's own finished runs) count as free: nobody works on those jobs any more; so do, when
 * ARGV[2] is '1' (judging, see liveness.ts), locks whose token (`<uuid>@<instance>`, keys.ts:
 * `lockTokenFor`) names an instance whose heartbeat in KEYS[6] has expired. BullMQ's own
 * stalled check moves stalled jobs one by one from an unordered set, which can reorder them;
 * this keeps the partition's FIFO order. The active list holds the newest job first, so pushing
 * each to the head of the wait list in that order leaves the oldest first in line.
 * KEYS: active, wait, stalled, marker, events, instances. ARGV: the queue's key prefix, judging,
 * then own tokens.
 * Returns the number of jobs moved, or minus the number still locked (nothing moved).
 */
const restoreOrphans = new Script(`
local active = redis.call('LRANGE', KEYS[1], 0, -1)
local own = {}
for i = 3, #ARGV do own[ARGV[i]] = true end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function deadHolder(holder)
  if ARGV[2] ~= '1' then return false end
  local at = string.find(holder, '@', 1, true)
  if not at then return false end
  local expiry = redis.call('ZSCORE', KEYS[6], string.sub(holder, at + 1))
  return expiry ~= false and tonumber(expiry) < now
end
local locked = 0
for _, id in ipairs(active) do
  local holder = redis.call('GET', ARGV[1] .. id .. ':lock')
  if holder and not own[holder] and not deadHolder(holder) then locked = locked + 1 end
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

/**
 * An instance's heartbeat (liveness.ts): its expiry, Redis time + ARGV[2] ms, in the instances
 * ZSET (a negative ARGV[2] records it as gone). Entries expired for an hour are dropped: by then
 * no lease or lock of theirs is left.
 */
const beat = new Script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 3600000)
return now
`);

export interface LeaseRound {
  /** How many of its partitions this instance keeps; it gives the others back. */
  readonly share: number;
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
    /** The instances ZSET, and whether this instance judges others dead by it (liveness.ts). */
    instancesKey: string;
    judging: boolean;
  },
): Promise<LeaseRound> {
  const reply = (await leaseRound.run(
    redis,
    [args.membersKey, args.instancesKey],
    [
      args.instanceId,
      args.ttlMs,
      args.partitions,
      args.leasePrefix,
      args.acquire ? '1' : '0',
      args.judging ? '1' : '0',
    ],
  )) as [number, number[]];
  return { share: Number(reply[0]), held: reply[1].map(Number) };
}

export async function runReleaseLease(redis: Redis, leaseKey: string, instanceId: string): Promise<void> {
  await releaseLease.run(redis, [leaseKey], [instanceId]);
}

/**
 * `queueKey` is `<prefix>:<queue>`; `ownTokens` are the tokens of this worker's finished runs;
 * `judging`: locks of instances dead by `instancesKey` count as free.
 */
export async function runRestoreOrphans(
  redis: Redis,
  queueKey: string,
  ownTokens: readonly string[],
  liveness: { readonly instancesKey: string; readonly judging: boolean },
): Promise<number> {
  const keys = ['active', 'wait', 'stalled', 'marker', 'events'].map((suffix) => `${queueKey}:${suffix}`);
  const judging = liveness.judging ? '1' : '0';
  return Number(
    await restoreOrphans.run(
      redis,
      [...keys, liveness.instancesKey],
      [`${queueKey}:`, judging, ...ownTokens],
    ),
  );
}

/** Writes an instance's heartbeat: alive for `ttlMs` more (Redis time); a negative `ttlMs` marks it gone. */
export async function runBeat(
  redis: Redis,
  instancesKey: string,
  instanceId: string,
  ttlMs: number,
): Promise<void> {
  await beat.run(redis, [instancesKey], [instanceId, ttlMs]);
}
