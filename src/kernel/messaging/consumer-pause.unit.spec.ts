import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../observability/logger.js';
import { ConsumerPause, MAX_PAUSE_MS, MIN_PAUSE_MS } from './consumer-pause.js';

describe('ConsumerPause', () => {
  let pause: ConsumerPause;
  let resumes = 0;
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
    pause = new ConsumerPause('alpha.things', createLogger('silent'));
    resumes = 0;
    pause.onResume(() => resumes++);
  });
  afterEach(() => {
    pause.close();
    vi.useRealTimers();
  });

  it('pauses for the time it is given, then resumes and tells its listeners once', () => {
    expect(pause.paused).toBe(false);
    pause.pause('mail', 500, 'down');
    expect(pause.paused).toBe(true);
    expect(pause.state).toEqual({
      consumer: 'alpha.things',
      dependency: 'mail',
      since: 1_000_000,
      resumesAt: 1_000_500,
      error: 'down',
    });
    vi.advanceTimersByTime(499);
    expect([pause.paused, resumes]).toEqual([true, 0]);
    vi.advanceTimersByTime(1);
    expect([pause.paused, resumes, pause.state]).toEqual([false, 1, undefined]);
    vi.advanceTimersByTime(10_000);
    expect(resumes).toBe(1);
  });

  it('keeps the later end when deliveries in flight meet the outage one after another', () => {
    pause.pause('mail', 500, 'first');
    vi.advanceTimersByTime(100);
    pause.pause('mail', 100, 'earlier end'); // would resume at +200: the pause under way ends later
    expect(pause.state).toMatchObject({ resumesAt: 1_000_500, error: 'first' });
    pause.pause('mail', 900, 'later end');
    expect(pause.state).toMatchObject({ since: 1_000_000, resumesAt: 1_001_000, error: 'later end' });
    vi.advanceTimersByTime(899);
    expect(pause.paused).toBe(true);
    vi.advanceTimersByTime(1);
    expect([pause.paused, resumes]).toEqual([false, 1]);
  });

  it('keeps the outage start across failed tries, and forgets it once a delivery passes', () => {
    pause.pause('mail', 500, 'down');
    vi.advanceTimersByTime(500); // resumed: trying
    pause.pause('mail', 500, 'still down'); // the try met the outage again
    expect(pause.state).toMatchObject({ since: 1_000_000, resumesAt: 1_001_000 });
    vi.advanceTimersByTime(500);
    pause.passed();
    expect(pause.paused).toBe(false);
    pause.pause('mail', 500, 'down again'); // a new outage
    expect(pause.state).toMatchObject({ since: 1_001_000 });
  });

  it('is not ended by a delivery that started before the pause and passes during it', () => {
    pause.pause('mail', 500, 'down');
    pause.passed();
    expect(pause.paused).toBe(true);
  });

  it(`pauses from ${MIN_PAUSE_MS} ms to ${MAX_PAUSE_MS / 1000} s, whatever it is told`, () => {
    pause.pause('mail', 0, 'now?');
    expect(pause.state?.resumesAt).toBe(1_000_000 + MIN_PAUSE_MS);
    vi.advanceTimersByTime(MIN_PAUSE_MS);
    pause.passed();
    pause.pause('mail', 10 * MAX_PAUSE_MS, 'a week');
    expect(pause.state?.resumesAt).toBe(Date.now() + MAX_PAUSE_MS);
    vi.advanceTimersByTime(MAX_PAUSE_MS);
    pause.passed();
    pause.pause('mail', Number.NaN, 'no idea');
    expect(pause.state?.resumesAt).toBe(Date.now() + 1000);
  });

  it('resumes nobody after close', () => {
    pause.pause('mail', 500, 'down');
    pause.close();
    vi.advanceTimersByTime(1000);
    expect(resumes).toBe(0);
    pause.pause('mail', 500, 'down');
    expect(resumes).toBe(0);
  });

  it('stops calling a listener that unsubscribed', () => {
    let other = 0;
    const stop = pause.onResume(() => other++);
    pause.pause('mail', 100, 'down');
    vi.advanceTimersByTime(100);
    stop();
    pause.pause('mail', 100, 'down');
    vi.advanceTimersByTime(100);
    expect([resumes, other]).toEqual([2, 1]);
  });
});
