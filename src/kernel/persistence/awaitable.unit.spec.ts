import { describe, expect, it } from 'vitest';
import { allOf, andThen } from './awaitable.js';

describe('Awaitable: values that may be promises', () => {
  it('andThen runs at once on a value and after resolution on a promise', async () => {
    const order: string[] = [];
    const now = andThen(2, (n) => {
      order.push('value');
      return n * 10;
    });
    expect(now).toBe(20); // no promise: the caller gets the result in the same tick
    const later = andThen(Promise.resolve(3), (n) => {
      order.push('promise');
      return n * 10;
    });
    expect(order).toEqual(['value']);
    await expect(later).resolves.toBe(30);
    expect(order).toEqual(['value', 'promise']);
  });

  it('allOf gives the array itself when nothing is a promise, else a promise of the values in order', async () => {
    const plain = [1, 2, 3];
    expect(allOf(plain)).toBe(plain);
    await expect(allOf([1, Promise.resolve(2), 3])).resolves.toEqual([1, 2, 3]);
    await expect(allOf([1, Promise.reject(new Error('no'))])).rejects.toThrow('no');
  });
});
