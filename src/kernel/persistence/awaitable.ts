/** A value, or a promise of it: what a kernel statement gives (SQLite: the value, PostgreSQL: a promise). */
export type Awaitable<T> = T | Promise<T>;

export function isThenable<T>(value: Awaitable<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** fn of the value: at once for a plain value (no promise, no microtask), else once it resolves. */
export function andThen<T, U>(value: Awaitable<T>, fn: (value: T) => Awaitable<U>): Awaitable<U> {
  return isThenable(value) ? value.then(fn) : fn(value);
}

/** All the values, as `Promise.all` would give them: at once (no promise) when none is a promise. */
export function allOf<T>(values: readonly Awaitable<T>[]): Awaitable<T[]> {
  return values.some(isThenable) ? Promise.all(values) : (values as T[]);
}
