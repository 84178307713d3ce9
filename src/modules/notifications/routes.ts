import { Type } from 'typebox';
import {
  authenticate,
  type HttpApp,
  type ModuleContext,
  PageOf,
  PageQuery,
  ProblemSchema as Problem,
} from '../../kernel/index.js';
import { listNotifications } from './queries.js';

const strict = { additionalProperties: false } as const;

const Notification = Type.Object(
  {
    id: Type.String(),
    eventId: Type.String({ description: 'The event that caused this notification' }),
    kind: Type.String(),
    subject: Type.String(),
    body: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
  },
  strict,
);

/** GET /notifications 🔒: the caller's notifications, oldest first, a page at a time. */
export function notificationsRoutes(app: HttpApp, ctx: ModuleContext): void {
  app.addHook('onRequest', authenticate);
  app.get(
    '/notifications',
    {
      schema: {
        tags: ['notifications'],
        security: [{ bearer: [] }],
        summary: "The caller's notifications, oldest first, a page at a time",
        querystring: PageQuery(),
        response: { 200: PageOf(Notification), 400: Problem, 401: Problem },
      },
    },
    async (request) => listNotifications(ctx.db, request.user.sub, request.query),
  );
}
