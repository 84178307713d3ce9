import { describe, expect, it } from 'vitest';
import { ConsumerWindows } from '../../observability/consumer-window.js';
import { ConsumerHistory, HISTORY_POINTS } from './history.js';

describe('ConsumerHistory', () => {
  it('samples each consumer’s throughput and lag, keeps the last 15 minutes, and leaves the lag unknown when the transport does not answer', async () => {
    const recent = new ConsumerWindows();
    let lag: Promise<ReadonlyMap<string, number>> = Promise.resolve(new Map([['a.work', 7]]));
    const history = new ConsumerHistory(
      () => ['a.work'],
      recent,
      () => lag,
      3_600_000,
    );
    try {
      for (let i = 0; i < 30; i++) recent.observe('a.work', 0.001, true);
      await history.sample();
      expect(history.of('a.work')).toEqual([{ at: expect.any(Number), throughputPerSecond: 0.5, lag: 7 }]);

      lag = Promise.reject(new Error('broker away'));
      await history.sample();
      expect(history.of('a.work').at(-1)?.lag).toBeNull();

      for (let i = 0; i < HISTORY_POINTS + 5; i++) await history.sample();
      expect(history.of('a.work')).toHaveLength(HISTORY_POINTS);
      expect(history.of('other')).toEqual([]);
    } finally {
      history.stop();
    }
  });
});
