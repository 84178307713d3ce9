import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';

/** One key's count in its current window. */
export interface WindowCount {
  readonly count: number;
  /** Milliseconds until the window ends and the count starts again from zero. */
  readonly resetInMs: number;
}

/**
 * Counters in fixed windows, kept where the route rate limits are (`RATE_LIMIT_STORE`): in Redis
 * one count is shared by every instance of a deployment, else each process counts alone. For
 * limits a route hook cannot express, where what counts is known only from the answer: a failed
 * sign-in is counted after it failed (`peek` first, `add` after), an attempt that counts unless
 * the server fails is added up front and taken back (`takeBack`) when it does.
 *
 * Like the route limits, the counters fail open: while Redis does not answer, `add` answers a
 * count of 0 (requests are served, not refused; the store's connection logs that limits are off).
 */
export interface RateCounters {
  /** `key`'s count and window, unchanged (a count of 0 when it has no window). */
  peek(key: string): Promise<WindowCount>;
  /** Counts one more in `key`'s window; a key without a window opens one of `windowMs`. */
  add(key: string, windowMs: number): Promise<WindowCount>;
  /** Takes back one count of `key`'s current window (never below zero, never opening one). */
  takeBack(key: string): Promise<void>;
  /** Ends `key`'s window: it counts from zero again. */
  clear(key: string): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Windowed counters in the rate-limit store (see RateCounters). */
    rateCounters: RateCounters;
  }
}

/**
 * The client a per-client limit counts: the request's address (from X-Forwarded-For only behind a
 * TRUST_PROXY), an IPv6 client as its /64 as the route limits count it, since one IPv6 host
 * usually holds a whole /64 and could otherwise take a fresh address per attempt.
 */
export function clientKey(request: FastifyRequest): string {
  return normalizeIP(request.ip);
}

const NOT_COUNTED: WindowCount = { count: 0, resetInMs: 0 };

interface Window {
  count: number;
  readonly endsAt: number;
}

/**
 * Counters in this process. Bounded: past `maxKeys` windows, ended ones are dropped, then the
 * oldest (an attacker inventing keys must not grow the process without end; a dropped window
 * only forgets counts, as a restart does).
 */
export function memoryRateCounters(now: () => number = Date.now, maxKeys = 100_000): RateCounters {
  const windows = new Map<string, Window>();
  const live = (key: string): Window | undefined => {
    const window = windows.get(key);
    if (window && window.endsAt <= now()) {
      windows.delete(key);
      return undefined;
    }
    return window;
  };
  const makeRoom = () => {
    if (windows.size < maxKeys) return;
    const at = now();
    for (const [key, window] of windows) if (window.endsAt <= at) windows.delete(key);
    for (const key of windows.keys()) {
      if (windows.size < maxKeys) break;
      windows.delete(key); // insertion order: the oldest window first
    }
  };
  return {
    peek: async (key) => {
      const window = live(key);
      return window ? { count: window.count, resetInMs: window.endsAt - now() } : NOT_COUNTED;
    },
    add: async (key, windowMs) => {
      let window = live(key);
      if (!window) {
        makeRoom();
        window = { count: 0, endsAt: now() + windowMs };
        windows.set(key, window);
      }
      window.count += 1;
      return { count: window.count, resetInMs: window.endsAt - now() };
    },
    takeBack: async (key) => {
      const window = live(key);
      if (window && window.count > 0) window.count -= 1;
    },
    clear: async (key) => {
      windows.delete(key);
    },
  };
}

/** INCR, opening the window on the first count (and on a key that lost its expiry), then PTTL. */
const ADD = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

const PEEK = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = 0 end
return {count, ttl}
`;

/** DECR only within a live window and above zero: a late take-back must not open a key without expiry. */
const TAKE_BACK = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return 0
`;

/** Counters in Redis under `nameSpace`, shared by every instance that uses the same one. */
export function redisRateCounters(redis: Redis, nameSpace: string): RateCounters {
  const prefixed = (key: string) => `${nameSpace}counters:${key}`;
  const counted = async (script: string, key: string, ...args: number[]): Promise<WindowCount> => {
    try {
      const answer = await redis.eval(script, 1, prefixed(key), ...args);
      const [count, resetInMs] = Array.isArray(answer) ? answer.map(Number) : [];
      return count === undefined || resetInMs === undefined ? NOT_COUNTED : { count, resetInMs };
    } catch {
      return NOT_COUNTED; // fail open, as the route limits do (skipOnError)
    }
  };
  return {
    peek: (key) => counted(PEEK, key),
    add: (key, windowMs) => counted(ADD, key, windowMs),
    takeBack: async (key) => {
      await redis.eval(TAKE_BACK, 1, prefixed(key)).catch(() => {});
    },
    clear: async (key) => {
      await redis.del(prefixed(key)).catch(() => {});
    },
  };
}
