import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planShare } from './share.js';

/**
 * Instances of one endpoint taking rounds one after another, as consumer.ts does: each reads the
 * marks of the others, hands over, claims free partitions, then marks itself. Partitions handed
 * over are free at once (the real ones after their deliveries in flight are acked).
 */
function simulate(partitions: number, joins: readonly number[], rounds: number, random: () => number) {
  const holding: number[] = [];
  const marks: { below: boolean; above: boolean }[] = [];
  const history: number[][] = [];
  for (let round = 0; round < rounds; round++) {
    for (let join = 0; join < (joins[round] ?? 0); join++) {
      holding.push(0);
      marks.push({ below: false, above: false });
    }
    for (let i = 0; i < holding.length; i++) {
      const others = marks.filter((_, j) => j !== i);
      const plan = planShare(
        {
          partitions,
          members: holding.length,
          holding: holding[i] ?? 0,
          belowOthers: others.filter((m) => m.below).length,
          aboveOthers: others.filter((m) => m.above).length,
        },
        random,
      );
      const free = partitions - holding.reduce((sum, n) => sum + n, 0) + ((holding[i] ?? 0) - plan.keep);
      const mine = Math.min(plan.keep, holding[i] ?? 0);
      holding[i] = mine + Math.max(0, Math.min(free, plan.claimUpTo - mine));
      marks[i] = { below: (holding[i] ?? 0) < plan.floor, above: (holding[i] ?? 0) > plan.floor };
    }
    history.push([...holding]);
  }
  return { holding, history };
}

/** Every partition held, every instance between floor and ceiling of partitions / instances. */
const balanced = (partitions: number, holding: readonly number[]) => {
  const floor = Math.floor(partitions / holding.length);
  const ceil = Math.ceil(partitions / holding.length);
  return (
    holding.every((n) => n >= floor && n <= ceil) && holding.reduce((sum, n) => sum + n, 0) === partitions
  );
};

describe('RabbitMQ partition share (share.ts)', () => {
  it('splits 16 partitions over 10 instances arriving one per round: every one holds 1 or 2', () => {
    const { holding } = simulate(16, Array(10).fill(1), 40, Math.random);
    expect(holding.sort()).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
  });

  it('lets nobody starve where taking up to the ceiling did: 8 instances at 2, then 2 more', () => {
    const { holding, history } = simulate(16, [8, 0, 0, 2], 30, Math.random);
    expect(history[2]).toEqual(Array(8).fill(2)); // all taken before the last two came
    expect(balanced(16, holding)).toBe(true);
    expect(holding.sort()).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
  });

  it('gives about as many partitions as are lacking, not one per instance above the floor', () => {
    // 8 at 2, 2 at 0: 2 lacking, 8 able to give; with random() = 0.2 < 2/8 every one would give
    const plan = (random: number) =>
      planShare({ partitions: 16, members: 10, holding: 2, belowOthers: 2, aboveOthers: 7 }, () => random);
    expect(plan(0.2).keep).toBe(1);
    expect(plan(0.3).keep).toBe(2);
  });

  it('keeps what it holds, and looks for nothing, once the split is even', () => {
    expect(planShare({ partitions: 16, members: 10, holding: 1, belowOthers: 0, aboveOthers: 6 })).toEqual({
      floor: 1,
      keep: 1,
      claimUpTo: 1,
    });
    expect(planShare({ partitions: 16, members: 10, holding: 2, belowOthers: 0, aboveOthers: 5 })).toEqual({
      floor: 1,
      keep: 2,
      claimUpTo: 2,
    });
  });

  it('leaves standbys when there are more instances than partitions', () => {
    const { holding } = simulate(4, [6], 10, Math.random);
    expect(holding.sort()).toEqual([0, 0, 1, 1, 1, 1]);
  });

  it('reaches an even split from any arrivals and partition count', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        (partitions, joins, seed) => {
          if (joins.every((n) => n === 0)) return;
          let state = seed;
          const random = () => {
            state = (Math.imul(state, 48_271) >>> 0) % 2_147_483_647;
            return state / 2_147_483_647;
          };
          const { holding } = simulate(partitions, joins, 80, random);
          expect(balanced(partitions, holding), `${partitions} over ${holding}`).toBe(true);
        },
      ),
    );
  });
});
