import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import { DependencyUnavailableError } from '../../kernel/index.js';
import {
  type NotificationChannel,
  NotificationRejectedError,
  type OutgoingNotification,
} from './channels.js';

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

/** A failure that says the channel is down (a refusal of one notification says it is up). */
const channelDown = (error: Error) => !(error instanceof NotificationRejectedError);

/**
 * Wraps a channel: each attempt has a timeout and goes through a circuit breaker, and a failed
 * attempt is retried a little. While the breaker is open the channel is down: a send fails fast
 * without touching it, with DependencyUnavailableError, so the kernel pauses the consumer until the
 * breaker half-opens instead of retrying every notification into the dead letters; its first
 * delivery then is the breaker's trial. A send that fails while the breaker stays closed throws
 * the channel's error (the kernel retries it, then dead-letters it); a refusal
 * (NotificationRejectedError) is dead-lettered at once and leaves the breaker alone.
 */
export function createResilientSend(channel: NotificationChannel, options: ResilienceOptions = {}): Send {
  const halfOpenAfterMs = options.halfOpenAfterMs ?? 10_000;
  const breaker = circuitBreaker(handleWhen(channelDown), {
    halfOpenAfter: halfOpenAfterMs,
    breaker: new ConsecutiveBreaker(options.failuresToOpen ?? 5),
  });
  // cockatiel keeps when it opened to itself; onBreak fires as it opens (its trial failing too)
  let openedAt = 0;
  breaker.onBreak(() => {
    openedAt = Date.now();
  });
  const retrying = retry(
    handleWhen((error) => channelDown(error) && !(error instanceof BrokenCircuitError)),
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
  const dependency = `notification channel ${channel.name}`;
  return async (notification) => {
    try {
      await policy.execute(() => channel.send(notification));
    } catch (error) {
      // Open: this send failed fast, or its failure opened the breaker, or it was the trial after
      // half-open and failed. Either way the channel is down, not this notification.
      if (breaker.state !== CircuitState.Open) throw error;
      const untilHalfOpenMs = openedAt + halfOpenAfterMs - Date.now();
      throw new DependencyUnavailableError(dependency, untilHalfOpenMs, { cause: error });
    }
  };
}
