import { describe, expect, it } from 'vitest';
import { ConsumerWindows, WINDOW_SECONDS } from './consumer-window.js';

describe('ConsumerWindows', () => {
  const t0 = 1_700_000_000_000;

  it('gives messages handled per second over the last minute, and forgets older ones', () => {
    const windows = new ConsumerWindows();
    for (let i = 0; i < 120; i++) windows.observe('a.b', 0.002, true, t0 + i * 250); // 4/s for 30 s
    windows.observe('a.b', 0.002, false, t0); // a retry: timed, not counted as handled
    expect(windows.read('a.b', t0 + 30_000).throughputPerSecond).toBeCloseTo(120 / WINDOW_SECONDS);
    expect(windows.read('a.b', t0 + 30_000).deliveries).toBe(121);
    // 75 s on, only the deliveries of seconds 16 to 29 (4 each) are in the window
    expect(windows.read('a.b', t0 + 75_000).throughputPerSecond).toBeCloseTo(56 / WINDOW_SECONDS);
    expect(windows.read('a.b', t0 + 200_000)).toEqual({
      throughputPerSecond: 0,
      p99Seconds: undefined,
      deliveries: 0,
    });
    expect(windows.read('other', t0).p99Seconds).toBeUndefined();
  });

  it('reads the p99 within 20 % over the true value', () => {
    const windows = new ConsumerWindows();
    for (let i = 0; i < 990; i++) windows.observe('a.b', 0.001, true, t0 + i);
    for (let i = 0; i < 10; i++) windows.observe('a.b', 0.5, true, t0 + i);
    const p99 = windows.read('a.b', t0 + 1000).p99Seconds ?? 0;
    expect(p99).toBeGreaterThanOrEqual(0.001);
    expect(p99).toBeLessThanOrEqual(0.0012);
    for (let i = 0; i < 20; i++) windows.observe('a.b', 0.5, true, t0 + 1000);
    const slow = windows.read('a.b', t0 + 1000).p99Seconds ?? 0;
    expect(slow).toBeGreaterThanOrEqual(0.5);
    expect(slow).toBeLessThanOrEqual(0.6);
  });
});
