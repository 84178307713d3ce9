import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Logger, NonRetryableError } from '../../kernel/index.js';

/** A notification on its way out. */
export interface OutgoingNotification {
  readonly id: string;
  readonly userId: string;
  /** The contact's e-mail, or a generic address when no contact copy is known yet. */
  readonly address: string;
  readonly kind: string;
  readonly subject: string;
  readonly body: string;
}

/**
 * Thrown by a channel that answered and refused this one notification (an address it cannot
 * deliver to, a body it will not take). The channel is up, so its circuit breaker does not count
 * it, and sending again cannot help, so the message is dead-lettered at once. Any other failure
 * counts as the channel being down: a channel that threw plain errors for one bad notification
 * would open the breaker, and the consumer would pause on that notification at every try.
 */
export class NotificationRejectedError extends NonRetryableError {
  override readonly name = 'NotificationRejectedError';
}

/**
 * Where notifications go (e-mail, SMS, push…). `send` rejects when the message was not accepted:
 * with NotificationRejectedError when the channel refused this notification, otherwise the
 * channel counts as down.
 */
export interface NotificationChannel {
  readonly name: string;
  send(notification: OutgoingNotification): Promise<void>;
}

/** The default channel: a structured log line per notification. */
export function createLogChannel(log: Logger): NotificationChannel {
  return {
    name: 'log',
    async send(notification) {
      log.info({ notification }, 'notification sent');
    },
  };
}

/** Appends one JSON line per notification to `file` (for local runs and tests that read the file). */
export function createFileChannel(file: string): NotificationChannel {
  let ready: Promise<unknown> | undefined;
  return {
    name: 'file',
    async send(notification) {
      ready ??= mkdir(dirname(file), { recursive: true });
      await ready;
      await appendFile(file, `${JSON.stringify({ ...notification, sentAt: new Date().toISOString() })}\n`);
    },
  };
}
