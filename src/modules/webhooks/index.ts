/**
 * webhooks: users subscribe URLs to events; each matching event is POSTed to them, signed.
 *
 * Publishes: nothing.
 * Handles: every event of the other modules' contracts that some subscription names (consumer
 *   `webhooks.deliveries`; the other types are not routed to it, and creating a subscription routes
 *   its types before it commits; a type stays routed after its last subscription is deleted, until
 *   a restart on the memory transport, for good on a broker). One delivery row per subscription
 *   that names the event's type and may see the event, recorded in the handler's transaction
 *   (unique per subscription and event: a repeat adds nothing).
 * Who sees what: an event whose data has a `userId` goes only to that user's subscriptions (an
 *   admin's too: admins do not receive other users' events, which carry personal data). An event
 *   about no user (inventory's product events) goes to subscriptions created by admins only; a
 *   user naming one at creation gets 403 WEBHOOKS_EVENT_NOT_ALLOWED.
 * Delivery: outside the transaction, a poller (delivery/dispatcher.ts) POSTs the CloudEvents
 *   envelope as JSON with Standard Webhooks headers (webhook-id = the delivery id, the same on
 *   every attempt; webhook-timestamp; webhook-signature `v1,<base64 HMAC-SHA256>` of
 *   `id.timestamp.body` with the subscription's secret). A 2xx answer is delivered; anything else
 *   (3xx too: redirects are not followed), a timeout (5 s) or a network error is retried with
 *   backoff (5 s × 4ⁿ, at most 1 h) up to 8 attempts, then the delivery is failed. Pending rows
 *   survive restarts. No order between deliveries is promised (retries overtake).
 * Limits: WEBHOOKS_PER_USER_MAX webhooks per user (409 WEBHOOKS_LIMIT_REACHED). Attempts in flight
 *   at most 8 per process, WEBHOOKS_IN_FLIGHT_PER_USER per user and WEBHOOKS_IN_FLIGHT_PER_HOST per
 *   target host over every process (leases); free slots go to users in turn (delivery/fair-share.ts).
 * Targets: http(s) only; unless WEBHOOKS_ALLOW_PRIVATE=1, every address the host resolves to must
 *   be public (address-policy.ts), at creation (400 WEBHOOKS_PRIVATE_TARGET) and again at every
 *   attempt, on the address actually connected to (DNS rebinding).
 * Tables: webhooks_subscriptions, webhooks_subscription_events, webhooks_deliveries.
 * Sagas: none.
 * HTTP: POST /webhooks 🔒, GET /webhooks 🔒, DELETE /webhooks/:id 🔒, GET /webhooks/:id/deliveries 🔒.
 */
import {
  defineModule,
  type HandlerContext,
  type ModuleContext,
  type ModuleDefinition,
  on,
  perModule,
} from '../../kernel/index.js';
import { createDispatcher } from './delivery/dispatcher.js';
import { DEFAULT_DELIVERY_POLICY, type DeliveryPolicy } from './delivery/policy.js';
import { webhooksErrors } from './errors.js';
import { DELIVERIES_CONSUMER, webhookEvents } from './event-catalogue.js';
import { createEventHandler } from './handlers/on-subscribed-event.js';
import { namedEventTypes } from './queries.js';
import { webhooksRoutes } from './routes.js';
import { readWebhooksSettings, type WebhooksSettings } from './settings.js';

/** What the deliveries consumer's handler gets: this module's context as `module`. */
type Ctx = HandlerContext<ModuleContext<WebhooksSettings>>;

export interface WebhooksOptions {
  readonly delivery?: Partial<DeliveryPolicy>;
}

export function createWebhooksModule(options: WebhooksOptions = {}): ModuleDefinition {
  const policy: DeliveryPolicy = { ...DEFAULT_DELIVERY_POLICY, ...options.delivery };
  // One dispatcher per running module (an app, or each app of a test that starts several).
  const dispatcherOf = perModule((ctx: ModuleContext<WebhooksSettings>) => createDispatcher(ctx, policy));
  const eventHandlerOf = perModule((ctx: ModuleContext<WebhooksSettings>) =>
    createEventHandler(() => dispatcherOf(ctx).wake()),
  );
  return defineModule({
    name: 'webhooks',
    errors: webhooksErrors,
    settings: readWebhooksSettings,
    http: { prefixes: ['/webhooks'] },
    routes: webhooksRoutes,
    subscriptions: [
      {
        consumer: DELIVERIES_CONSUMER,
        handlers: [on(webhookEvents, (event, ctx: Ctx) => eventHandlerOf(ctx.module)(event, ctx))],
        // Only the types a subscription names are routed here: without webhooks, events cost
        // nothing more. Creating a subscription routes its types before it commits.
        typesAtStart: (ctx) => namedEventTypes(ctx.db),
        concurrency: 4,
      },
    ],
    start: (ctx) => dispatcherOf(ctx).start(),
    stop: (ctx) => dispatcherOf(ctx).stop(),
  });
}

export const webhooksModule = createWebhooksModule();

export { DEFAULT_DELIVERY_POLICY, type DeliveryPolicy } from './delivery/policy.js';
