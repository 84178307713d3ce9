/**
 * notifications: tells users about the outcome of their orders and about refunds.
 *
 * Publishes: notifications.notification-sent.
 * Handles: orders.order-confirmed, orders.order-payment-failed, orders.order-cancelled,
 *   payments.payment-refunded (amount > 0) — consumer `notifications.outcomes`: one notification
 *   each, sent through a NotificationChannel behind a circuit breaker; users.user-registered —
 *   consumer `notifications.contacts`: the local contact copy.
 * Tables: notifications_contacts, notifications_notifications.
 * Sagas: none.
 * HTTP: GET /notifications 🔒.
 */
import { defineModule, type ModuleContext, type ModuleDefinition, on } from '../../kernel/index.js';
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
  return defineModule({
    name: 'notifications',
    http: { prefixes: ['/notifications'] },
    messages: [notificationSent],
    routes: notificationsRoutes,
    subscriptions: (ctx) => {
      // One breaker per running module: it opens for this process's channel only.
      const channel = options.channel?.(ctx) ?? createLogChannel(ctx.log);
      const send = createResilientSend(channel, options.resilience);
      return [
        { consumer: 'notifications.contacts', handlers: [on(userRegistered, onUserRegistered)] },
        {
          consumer: 'notifications.outcomes',
          handlers: [
            on(
              [orderConfirmed, orderPaymentFailed, orderCancelled, paymentRefunded],
              createOutcomeHandler(ctx, send),
            ),
          ],
          concurrency: 4,
        },
      ];
    },
  });
}

export const notificationsModule = createNotificationsModule();

export {
  createFileChannel,
  createLogChannel,
  type NotificationChannel,
  type OutgoingNotification,
} from './channels.js';
