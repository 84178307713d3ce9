import { randomUUID } from 'node:crypto';
import { type Db, HttpProblem, type ModuleContext, type Role } from '../../../kernel/index.js';
import { DELIVERIES_CONSUMER, isUserEvent, unknownEventTypes } from '../event-catalogue.js';
import { subscriptionCount } from '../queries.js';
import { webhooksSubscriptionEvents, webhooksSubscriptions } from '../schema.js';
import type { WebhooksSettings } from '../settings.js';
import { createSecret } from '../signature.js';
import { assertPublicTarget, parseTargetUrl, TargetRefusedError } from '../target.js';

export interface CreateSubscriptionInput {
  readonly userId: string;
  readonly role: Role;
  readonly url: string;
  readonly events: readonly string[];
}

export interface CreatedSubscription {
  readonly id: string;
  /** Shown once: the receiver verifies signatures with it. */
  readonly secret: string;
}

/** The named types, each once; 400 for a type that is not an event, 403 for one the caller may not see. */
function checkedEventTypes(types: readonly string[], role: Role): string[] {
  const unique = [...new Set(types)];
  const problems = unknownEventTypes(unique);
  if (problems.length > 0) {
    const listed = problems.map((p) =>
      p.reason === 'command' ? `${p.type} (a command, not an event)` : p.type,
    );
    throw new HttpProblem(400, 'WEBHOOKS_UNKNOWN_EVENT', `unknown event types: ${listed.join(', ')}`);
  }
  const adminOnly = role === 'admin' ? [] : unique.filter((type) => !isUserEvent(type));
  if (adminOnly.length > 0) {
    throw new HttpProblem(
      403,
      'WEBHOOKS_EVENT_NOT_ALLOWED',
      `${adminOnly.join(', ')}: events about no user are for admins only`,
    );
  }
  return unique;
}

/** 409 when the user already has as many webhooks as WEBHOOKS_PER_USER_MAX allows. */
async function assertBelowLimit(db: Db, userId: string, max: number): Promise<void> {
  const existing = await subscriptionCount(db, userId);
  if (existing < max) return;
  throw new HttpProblem(
    409,
    'WEBHOOKS_LIMIT_REACHED',
    `you have ${existing} webhooks, the most one user may have (${max}); delete one to create another`,
  );
}

/** The URL, refused (400) unless http(s) and, without WEBHOOKS_ALLOW_PRIVATE, public. */
async function checkedTarget(ctx: ModuleContext<WebhooksSettings>, raw: string): Promise<URL> {
  try {
    const url = parseTargetUrl(raw);
    if (!ctx.settings.allowPrivate) await assertPublicTarget(url);
    return url;
  } catch (error) {
    if (error instanceof TargetRefusedError) throw new HttpProblem(400, error.code, error.message);
    throw error;
  }
}

/**
 * Routes the types to the module's consumer before the subscription commits, so every event
 * published once it exists reaches it. The broker unreachable: 503, and nothing is stored.
 */
async function routeEvents(ctx: ModuleContext, events: readonly string[]): Promise<void> {
  try {
    await ctx.routeTypes(DELIVERIES_CONSUMER, events);
  } catch (error) {
    ctx.log.warn({ err: error, events }, 'routing the events of a new webhook failed');
    throw new HttpProblem(
      503,
      'WEBHOOKS_BUS_UNAVAILABLE',
      "the message bus did not take the new webhook's events; nothing was created, try again",
      { retryAfterSeconds: 5 },
    );
  }
}

/** POST /webhooks: a new subscription of the caller to the named events, with its own secret. */
export async function createSubscription(
  ctx: ModuleContext<WebhooksSettings>,
  input: CreateSubscriptionInput,
): Promise<CreatedSubscription> {
  const events = checkedEventTypes(input.events, input.role);
  // Early, so a user at the limit costs no DNS lookup nor broker call; it only decides in the
  // transaction below, since concurrent requests all pass this read before any of them commits.
  const { maxWebhooksPerUser } = ctx.settings;
  await assertBelowLimit(ctx.db, input.userId, maxWebhooksPerUser);
  const url = await checkedTarget(ctx, input.url);
  const subscription = {
    id: randomUUID(),
    userId: input.userId,
    ownerRole: input.role,
    url: url.href,
    secret: createSecret(),
    createdAt: Date.now(),
  };
  await routeEvents(ctx, events);
  await ctx.transact(async (tx) => {
    // Counted in the write transaction (BEGIN IMMEDIATE) that inserts: no other create, from this
    // process or another, can commit between the count and the insert.
    await assertBelowLimit(tx.db, input.userId, maxWebhooksPerUser);
    await tx.db.insert(webhooksSubscriptions).values(subscription);
    const rows = events.map((eventType) => ({ subscriptionId: subscription.id, eventType }));
    await tx.db.insert(webhooksSubscriptionEvents).values(rows);
  });
  return { id: subscription.id, secret: subscription.secret };
}
