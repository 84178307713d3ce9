/** How deliveries are attempted; every field can be overridden (tests shorten the waits). */
export interface DeliveryPolicy {
  /** Attempts per delivery, the first included; after the last failed one the delivery is `failed`. */
  readonly maxAttempts: number;
  /** The wait before the second attempt; each later wait is four times the one before. */
  readonly firstRetryDelayMs: number;
  /** No wait is longer than this. */
  readonly maxRetryDelayMs: number;
  /** An attempt without a complete answer header by then has failed (connect, TLS and send included). */
  readonly timeoutMs: number;
  /** How often the dispatcher looks for due deliveries (it is also woken when one is recorded). */
  readonly pollIntervalMs: number;
  /** Attempts in flight at once, per process. */
  readonly concurrency: number;
}

/**
 * 8 attempts over about 2.6 hours (waits of 5 s, 20 s, 80 s, 5 min, 21 min, then 1 h), close to
 * the Standard Webhooks recommendation: a receiver may be down for a deploy without losing events.
 */
export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  maxAttempts: 8,
  firstRetryDelayMs: 5_000,
  maxRetryDelayMs: 3_600_000,
  timeoutMs: 5_000,
  pollIntervalMs: 1_000,
  concurrency: 8,
};

/** The wait after the `attemptsMade`-th failed attempt (1 → firstRetryDelayMs). */
export function retryDelayMs(policy: DeliveryPolicy, attemptsMade: number): number {
  const exponent = Math.max(0, attemptsMade - 1);
  return Math.min(policy.maxRetryDelayMs, policy.firstRetryDelayMs * 4 ** exponent);
}
