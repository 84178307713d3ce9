import { Type } from 'typebox';
import { defineEvent } from '../../kernel/index.js';

/** Messages of the notifications module: data only, importable by any module. */

export const notificationSent = defineEvent({
  type: 'notifications.notification-sent',
  schema: Type.Object({
    notificationId: Type.String(),
    userId: Type.String(),
    eventId: Type.String(),
    kind: Type.String(),
  }),
  partitionKey: (d) => d.userId,
});
