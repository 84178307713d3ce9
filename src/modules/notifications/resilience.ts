import {
  BrokenCircuitError,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
  handleWhen,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import type { NotificationChannel, OutgoingNotification } from './channels.js';

export interface ResilienceOptions {
  /** Consecutive failures that open the breaker (default 5). */
  readonly failuresToOpen?: number;
  /** How long the breaker stays open before one trial call (default 10 s). */
  readonly halfOpenAfterMs?: number;
  /** Attempts per send, the first included (default 2), with exponential backoff from 50 ms. */
  readonly attempts?: number;
  /** A send that takes longer is abandoned as failed (default 5 s). */
  readonly timeoutMs?: number;
}

export type Send = (notification: OutgoingNotification) => Promise<void>;

/**
 * Wraps a channel: each attempt has a timeout and goes through a circuit breaker, and a failed
 * attempt is retried a little. While the breaker is open, sends fail fast (BrokenCircuitError)
 * without touching the channel, and the kernel's own retry and dead letters take over.
 */
export function createResilientSend(channel: NotificationChannel, options: ResilienceOptions = {}): Send {
  const breaker = circuitBreaker(handleAll, {
    halfOpenAfter: options.halfOpenAfterMs ?? 10_000,
    breaker: new ConsecutiveBreaker(options.failuresToOpen ?? 5),
  });
  const retrying = retry(
    handleWhen((error) => !(error instanceof BrokenCircuitError)),
    {
      maxAttempts: Math.max(0, (options.attempts ?? 2) - 1),
      backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 500 }),
    },
  );
  // abortOnReturn off: channels take no signal, and aborting after every send built a DOMException
  // per notification for nothing (scripts/bench/findings.md).
  const perAttempt = timeout(options.timeoutMs ?? 5000, {
    strategy: TimeoutStrategy.Aggressive,
    abortOnReturn: false,
  });
  const policy = wrap(retrying, breaker, perAttempt);
  return (notification) => policy.execute(() => channel.send(notification));
}
