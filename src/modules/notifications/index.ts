/**
 * notifications: tells users about the outcome of their orders and about refunds.
 *
 * Publishes: notifications.notification-sent.
 * Handles: orders.order-confirmed, orders.order-payment-failed, orders.order-cancelled,
 *   payments.payment-refunded (amount > 0) — consumer `notifications.outcomes`: one notification
 *   each, sent through a NotificationChannel behind a circuit breaker (while it is open the
 *   consumer pauses, taking nothing, until it half-opens); users.user-registered —
 *   consumer `notifications.contacts`: the local contact copy.
 * Tables: notifications_contacts, notifications_notifications.
 * Sagas: none.
 * HTTP: GET /notifications 🔒.
 */
import {
  defineModule,
  type HandlerContext,
  type ModuleContext,
  type ModuleDefinition,
  on,
  perModule,
} from '../../kernel/index.js';
import { orderCancelled, orderConfirmed, orderPaymentFailed } from '../orders/contracts.js';
import { paymentRefunded } from '../payments/contracts.js';
import { userRegistered } from '../users/contracts.js';
import { createLogChannel, type NotificationChannel } from './channels.js';
import { notificationSent } from './contracts.js';
import { createOutcomeHandler } from './handlers/on-outcome.js';
import { onUserRegistered } from './handlers/on-user-registered.js';
import { createResilientSend, type ResilienceOptions } from './resilience.js';
import { notificationsRoutes } from './routes.js';

export interface NotificationsOptions {
  /** The channel notifications go out through (default: the module's log). */
  readonly channel?: (ctx: ModuleContext) => NotificationChannel;
  readonly resilience?: ResilienceOptions;
}

export function createNotificationsModule(options: NotificationsOptions = {}): ModuleDefinition {
  // One channel and breaker per running module: it opens for this process's channel only.
  const outcomeHandlerOf = perModule((ctx: ModuleContext) => {
    const channel = options.channel?.(ctx) ?? createLogChannel(ctx.log);
    return createOutcomeHandler(ctx, createResilientSend(channel, options.resilience));
  });
  return defineModule({
    name: 'notifications',
    http: { prefixes: ['/notifications'] },
    messages: [notificationSent],
    routes: notificationsRoutes,
    subscriptions: [
      { consumer: 'notifications.contacts', handlers: [on(userRegistered, onUserRegistered)] },
      {
        consumer: 'notifications.outcomes',
        handlers: [
          on(
            [orderConfirmed, orderPaymentFailed, orderCancelled, paymentRefunded],
            (message, ctx: HandlerContext<ModuleContext>) => outcomeHandlerOf(ctx.module)(message, ctx),
          ),
        ],
        concurrency: 4,
      },
    ],
  });
}

export const notificationsModule = createNotificationsModule();

export {
  createFileChannel,
  createLogChannel,
  type NotificationChannel,
  NotificationRejectedError,
  type OutgoingNotification,
} from './channels.js';
