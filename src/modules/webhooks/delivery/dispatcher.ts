import { type ModuleContext, outsideTransactions } from '../../../kernel/index.js';
import type { WebhooksSettings } from '../settings.js';
import { signWebhook } from '../signature.js';
import { postWebhook, type WebhookRequest } from './http-post.js';
import type { DeliveryPolicy } from './policy.js';
import { type ClaimedDelivery, claimDue, recordAttempt, releaseClaims, TargetCache } from './rows.js';

/** Sends due deliveries in the background; the rows in webhooks.db are its whole state. */
export interface Dispatcher {
  start(): void;
  /** Looks for due deliveries soon (after a handler recorded new ones, or an attempt finished). */
  wake(): void;
  /** Stops looking, cuts attempts in flight short and gives their rows back, uncounted. */
  stop(): Promise<void>;
}

/** A lease outlives the attempt's own timeout by this much, so it never ends while the attempt runs. */
const LEASE_MARGIN_MS = 10_000;
const USER_AGENT = 'modulith-webhooks/1';

/** The request of one attempt: the stored envelope, signed afresh (the timestamp is part of it). */
function requestFor(
  delivery: ClaimedDelivery,
  policy: DeliveryPolicy,
  ctx: ModuleContext<WebhooksSettings>,
  signal: AbortSignal,
): WebhookRequest {
  const timestampSeconds = Math.floor(Date.now() / 1000);
  const signature = signWebhook(delivery.secret, {
    id: delivery.id,
    timestampSeconds,
    body: delivery.payload,
  });
  return {
    url: delivery.url,
    body: delivery.payload,
    headers: {
      'content-type': 'application/cloudevents+json; charset=utf-8',
      'user-agent': USER_AGENT,
      'webhook-id': delivery.id,
      'webhook-timestamp': String(timestampSeconds),
      'webhook-signature': signature,
    },
    timeoutMs: policy.timeoutMs,
    allowPrivate: ctx.settings.allowPrivate,
    signal,
  };
}

/**
 * A small poller, independent of the bus: every `pollIntervalMs` (and whenever woken) it claims
 * due pending rows under a lease, shared fairly between users within the per-user and per-host
 * bounds of in-flight attempts (rows.ts, fair-share.ts), and POSTs each one. A finished attempt
 * wakes it, so a freed slot goes at once to whoever waits. Retries are rows whose
 * `next_attempt_at` is later, so they survive a restart; a process that dies mid-attempt leaves a
 * lease that expires.
 */
export function createDispatcher(ctx: ModuleContext<WebhooksSettings>, policy: DeliveryPolicy): Dispatcher {
  const inFlight = new Map<string, Promise<void>>();
  const cutShort: string[] = [];
  const shutdown = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let scheduled = false;
  let stopped = false;
  /** How long the last claim took (see wake). */
  let lastClaimMs = 0;
  const limits = {
    perUser: ctx.settings.inFlightPerUser,
    perHost: ctx.settings.inFlightPerHost,
    leaseMs: policy.timeoutMs + LEASE_MARGIN_MS,
    targets: new TargetCache(),
  };

  const attempt = async (delivery: ClaimedDelivery) => {
    const result = await postWebhook(requestFor(delivery, policy, ctx, shutdown.signal));
    if (shutdown.signal.aborted && !result.ok) {
      cutShort.push(delivery.id);
      return;
    }
    await recordAttempt(ctx, delivery, result, policy, Date.now());
    if (!result.ok) ctx.log.warn({ deliveryId: delivery.id, error: result.error }, 'webhook attempt failed');
  };

  const launch = (delivery: ClaimedDelivery) => {
    const running = attempt(delivery)
      .catch((error: unknown) =>
        ctx.log.error({ err: error, deliveryId: delivery.id }, 'webhook attempt not recorded'),
      )
      .finally(() => {
        inFlight.delete(delivery.id);
        wake();
      });
    inFlight.set(delivery.id, running);
  };

  /** One pass at a time: a second one would count the free slots before the first has filled them. */
  let passing = false;
  let again = false;
  const pass = async () => {
    scheduled = false;
    if (passing) {
      again = true;
      return;
    }
    const free = policy.concurrency - inFlight.size;
    if (stopped || free <= 0) return;
    passing = true;
    const startedAt = performance.now();
    try {
      for (const delivery of await claimDue(ctx, Date.now(), { ...limits, slots: free })) launch(delivery);
    } catch (error) {
      // A busy or closing database: the next poll tries again.
      ctx.log.warn({ err: error }, 'webhooks: could not claim due deliveries');
    } finally {
      lastClaimMs = performance.now() - startedAt;
      passing = false;
      if (again) {
        again = false;
        wake();
      }
    }
  };

  function wake(): void {
    if (stopped || scheduled) return;
    scheduled = true;
    // A claim reads the index entry of every due delivery (the fair share needs them all): with a
    // large backlog it blocks the event loop for milliseconds, so claims are spaced by at least
    // their own duration and take at most about half of it. Cheap ones run at once, as before.
    // Woken from a handler's transaction: the pass must not run in its async context.
    outsideTransactions(() => {
      if (lastClaimMs < 1) setImmediate(() => void pass());
      else setTimeout(() => void pass(), lastClaimMs);
    });
  }

  return {
    start() {
      timer = setInterval(wake, policy.pollIntervalMs);
      timer.unref();
      wake();
    },
    wake,
    async stop() {
      stopped = true;
      clearInterval(timer);
      shutdown.abort();
      await Promise.allSettled(inFlight.values());
      await releaseClaims(ctx, cutShort.splice(0));
    },
  };
}
