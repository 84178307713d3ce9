import { describe, expect, it } from 'vitest';
import { memoryRateCounters } from './rate-counters.js';

/** A clock the test moves by hand. */
function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('rate counters in memory', () => {
  it('counts in a fixed window from the first count, then from zero again', async () => {
    const time = clock();
    const counters = memoryRateCounters(time.now);
    expect(await counters.peek('k')).toEqual({ count: 0, resetInMs: 0 });
    expect(await counters.add('k', 60_000)).toEqual({ count: 1, resetInMs: 60_000 });
    time.advance(20_000);
    expect(await counters.add('k', 60_000)).toEqual({ count: 2, resetInMs: 40_000 });
    expect(await counters.peek('k')).toEqual({ count: 2, resetInMs: 40_000 });
    expect(await counters.peek('other')).toEqual({ count: 0, resetInMs: 0 });
    time.advance(40_000);
    expect(await counters.peek('k')).toEqual({ count: 0, resetInMs: 0 });
    expect(await counters.add('k', 60_000)).toEqual({ count: 1, resetInMs: 60_000 });
  });

  it('takes back a count within its window, never below zero nor into a new window', async () => {
    const time = clock();
    const counters = memoryRateCounters(time.now);
    await counters.add('k', 1000);
    await counters.add('k', 1000);
    await counters.takeBack('k');
    expect((await counters.peek('k')).count).toBe(1);
    await counters.takeBack('k');
    await counters.takeBack('k');
    expect((await counters.peek('k')).count).toBe(0);
    await counters.takeBack('never-counted');
    expect(await counters.add('never-counted', 1000)).toMatchObject({ count: 1 });
  });

  it('clears a key: it counts from zero', async () => {
    const counters = memoryRateCounters();
    await counters.add('k', 60_000);
    await counters.add('k', 60_000);
    await counters.clear('k');
    expect(await counters.add('k', 60_000)).toMatchObject({ count: 1 });
  });

  it('holds at most maxKeys windows: ended ones go first, then the oldest', async () => {
    const time = clock();
    const counters = memoryRateCounters(time.now, 3);
    await counters.add('short', 10);
    await counters.add('a', 60_000);
    await counters.add('b', 60_000);
    time.advance(10); // `short` has ended
    await counters.add('c', 60_000); // room made by dropping `short`
    expect((await counters.peek('a')).count).toBe(1);
    await counters.add('d', 60_000); // none ended: the oldest (`a`) goes
    expect((await counters.peek('a')).count).toBe(0);
    expect((await Promise.all(['b', 'c', 'd'].map((k) => counters.peek(k)))).map((c) => c.count)).toEqual([
      1, 1, 1,
    ]);
  });
});
