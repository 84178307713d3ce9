import { describe, expect, it } from 'vitest';
import { causalOrder, type TimelineEntry } from './queries.js';

const entry = (id: string, causationid: string | null, time: string): TimelineEntry => ({
  id,
  type: `t.${id}`,
  source: 't',
  time: `2030-01-01T00:00:0${time}.000Z`,
  correlationid: 'c',
  causationid,
});

describe('causal order of a timeline', () => {
  it('puts every cause before what it caused, whatever order the entries were recorded in', () => {
    // recorded out of order, and with a child whose clock says it came first
    const recorded = [
      entry('c', 'b', '3'),
      entry('a', null, '1'),
      entry('d', 'c', '0'),
      entry('b', 'a', '2'),
    ];
    expect(causalOrder(recorded).map((e) => e.id)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('orders siblings (one cause, several effects) by time', () => {
    const recorded = [entry('root', null, '0'), entry('late', 'root', '5'), entry('early', 'root', '2')];
    expect(causalOrder(recorded).map((e) => e.id)).toEqual(['root', 'early', 'late']);
  });

  it('treats a message whose cause is not recorded as a root, and keeps every entry', () => {
    const recorded = [entry('x', 'unknown', '2'), entry('y', null, '1'), entry('z', 'x', '3')];
    expect(causalOrder(recorded).map((e) => e.id)).toEqual(['y', 'x', 'z']);
    const cycle = [entry('p', 'q', '1'), entry('q', 'p', '2')];
    expect(causalOrder(cycle).map((e) => e.id)).toEqual(['p', 'q']);
  });
});
