/** How a consumer retries a failing handler before dead-lettering the message. */
export interface RetryPolicy {
  /** Attempts in all, the first one included (default 3). */
  readonly attempts: number;
  /** Delay before the 2nd attempt (default 100 ms); doubles for each attempt after. */
  readonly initialDelayMs: number;
  readonly factor: number;
  /**
   * Delay before a held message (a newer schema version than this build reads) is delivered to
   * this instance again (default 2000 ms). Holds are not attempts: they never dead-letter.
   */
  readonly holdDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attempts: 3,
  initialDelayMs: 100,
  factor: 2,
  holdDelayMs: 2000,
};

/** Delay before attempt `failedAttempt + 1`: 100 ms after the 1st failure, 200 ms after the 2nd. */
export function retryDelayMs(policy: RetryPolicy, failedAttempt: number): number {
  return Math.round(policy.initialDelayMs * policy.factor ** (failedAttempt - 1));
}
