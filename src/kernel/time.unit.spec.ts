import { afterEach, describe, expect, it, vi } from 'vitest';
import { within, withTimeout } from './time.js';

describe('within', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('settles like the promise when it settles first, and leaves no timer behind', async () => {
    vi.useFakeTimers();
    await expect(within(Promise.resolve('answer'), 1000, () => 'late')).resolves.toBe('answer');
    await expect(within(Promise.reject(new Error('broken')), 1000, () => 'late')).rejects.toThrow('broken');
    expect(vi.getTimerCount()).toBe(0);
  });

  it("settles with late()'s value, or its error, once the time is up", async () => {
    vi.useFakeTimers();
    const never = new Promise<string>(() => {});
    const fallback = within(never, 1000, () => 'late');
    const failing = withTimeout(never, 1000, 'no answer within 1000 ms');
    failing.catch(() => {});
    await vi.advanceTimersByTimeAsync(999);
    expect(vi.getTimerCount()).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    await expect(fallback).resolves.toBe('late');
    await expect(failing).rejects.toThrow('no answer within 1000 ms');
  });
});
