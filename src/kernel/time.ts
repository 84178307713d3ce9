/** Waits `ms`. The timer never keeps the process alive. */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());

/**
 * Settles like `promise`, or, if it has not settled after `ms`, with what `late()` returns (or
 * rejects with what it throws). The promise keeps running; the timer is cleared once it
 * settles, so it holds the process at most `ms`.
 */
export function within<T, L>(promise: Promise<T>, ms: number, late: () => L): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<L>((resolve, reject) => {
    timer = setTimeout(
      () => {
        try {
          resolve(late());
        } catch (error) {
          reject(error);
        }
      },
      Math.max(0, ms),
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** `within`, rejecting with `message` when late. */
export const withTimeout = <T>(promise: Promise<T>, ms: number, message: string): Promise<T> =>
  within(promise, ms, () => {
    throw new Error(message);
  });
