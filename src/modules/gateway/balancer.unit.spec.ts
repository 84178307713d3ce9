import { describe, expect, it } from 'vitest';
import type { ServiceInstance } from '../../kernel/index.js';
import { Balancer } from './balancer.js';

const instance = (id: string, status: 'pass' | 'fail' = 'pass'): ServiceInstance => ({
  id,
  modules: ['payments'],
  url: `http://127.0.0.1/${id}`,
  pid: 1,
  host: 'h',
  transport: 'rabbitmq',
  startedAt: '',
  heartbeatAt: '',
  status,
  checks: {},
});

const ids = (list: readonly ServiceInstance[]) => list.map((i) => i.id);

describe('gateway balancer', () => {
  it('takes healthy instances in turn', () => {
    const balancer = new Balancer();
    const all = [instance('a'), instance('b'), instance('c')];
    const firsts = Array.from({ length: 6 }, () => balancer.candidates('payments', all)[0]?.id);
    expect(firsts).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    expect(ids(balancer.candidates('payments', all))).toEqual(['a', 'b', 'c']);
  });

  it('keeps a turn per module', () => {
    const balancer = new Balancer();
    const all = [instance('a'), instance('b')];
    expect(balancer.candidates('payments', all)[0]?.id).toBe('a');
    expect(balancer.candidates('orders', all)[0]?.id).toBe('a');
    expect(balancer.candidates('payments', all)[0]?.id).toBe('b');
  });

  it('tries unready instances only after every healthy one', () => {
    const balancer = new Balancer();
    const all = [instance('sick', 'fail'), instance('a'), instance('b')];
    for (let i = 0; i < 4; i++) expect(ids(balancer.candidates('payments', all)).at(-1)).toBe('sick');
    expect(ids(balancer.candidates('payments', [instance('sick', 'fail')]))).toEqual(['sick']);
  });

  it('skips an instance that refused a connection, for a while', () => {
    const balancer = new Balancer();
    const all = [instance('a'), instance('b')];
    balancer.suspect('a', 1000, 10_000);
    expect(ids(balancer.candidates('payments', all, 10_500))).toEqual(['b']);
    expect(ids(balancer.candidates('payments', all, 11_001)).sort()).toEqual(['a', 'b']);
  });

  it('has no candidate when no instance is live', () => {
    expect(new Balancer().candidates('payments', [])).toEqual([]);
  });
});
