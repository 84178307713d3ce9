import { Type } from 'typebox';
import {
  type HttpApp,
  type ModuleContext,
  ProblemSchema as Problem,
  requireAdmin,
} from '../../kernel/index.js';
import { rebuildReadModels } from './commands/rebuild-read-models.js';
import { readSummary } from './queries.js';

const strict = { additionalProperties: false } as const;

const Summary = Type.Object(
  {
    ordersPlaced: Type.Integer(),
    ordersConfirmed: Type.Integer(),
    ordersPaymentFailed: Type.Integer(),
    ordersCancelled: Type.Integer(),
    revenueCents: Type.Integer({ description: 'Totals of confirmed orders' }),
    refundedCents: Type.Integer({ description: 'Sum of refunded amounts' }),
  },
  strict,
);

const schema = {
  tags: ['analytics'],
  security: [{ bearer: [] }],
  response: { 200: Summary, 401: Problem, 403: Problem },
};

/** Admin-only analytics: the summary read model, and its rebuild from the event log. */
export function analyticsRoutes(app: HttpApp, ctx: ModuleContext): void {
  app.addHook('onRequest', requireAdmin);
  app.get('/analytics/summary', { schema: { ...schema, summary: 'Order and refund totals' } }, async () =>
    readSummary(ctx.db),
  );
  app.post(
    '/analytics/rebuild',
    { schema: { ...schema, summary: "Rebuild the read models from the module's event log" } },
    async () => rebuildReadModels(ctx),
  );
}
