import { Type } from 'typebox';
import {
  authenticate,
  type HttpApp,
  HttpProblem,
  type ModuleContext,
  PageOf,
  PageQuery,
  ProblemSchema as Problem,
} from '../../kernel/index.js';
import { MAX_LINE_QUANTITY, MAX_LINES, placeOrder } from './commands/place-order.js';
import { findOrder, listOrders, orderExists, orderTimeline } from './queries.js';
import type { OrdersSettings } from './settings.js';

const strict = { additionalProperties: false } as const;

const PlaceOrderBody = Type.Object(
  {
    items: Type.Array(
      Type.Object(
        {
          sku: Type.String({ minLength: 1, maxLength: 200 }),
          quantity: Type.Integer({
            minimum: 1,
            maximum: MAX_LINE_QUANTITY,
            description: `Lines of the same sku are merged: together at most ${MAX_LINE_QUANTITY}`,
          }),
        },
        strict,
      ),
      { minItems: 1, maxItems: MAX_LINES },
    ),
  },
  strict,
);

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ minLength: 1, maxLength: 255, description: 'Same user and key → the same order' }),
  ),
});

const Accepted = Type.Object(
  { id: Type.String(), status: Type.Literal('pending'), totalCents: Type.Integer() },
  strict,
);

const Status = Type.Union([
  Type.Literal('pending'),
  Type.Literal('confirmed'),
  Type.Literal('payment_failed'),
  Type.Literal('cancelled'),
]);

const Order = Type.Object(
  {
    id: Type.String(),
    userId: Type.String(),
    status: Status,
    items: Type.Array(
      Type.Object({ sku: Type.String(), quantity: Type.Integer(), priceCents: Type.Integer() }, strict),
    ),
    totalCents: Type.Integer(),
    reason: Type.Optional(Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  strict,
);

const TimelineEntry = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    source: Type.String(),
    time: Type.String(),
    correlationid: Type.String(),
    causationid: Type.Union([Type.String(), Type.Null()]),
  },
  strict,
);

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }, strict);

const common = { tags: ['orders'], security: [{ bearer: [] }] };
const errors = { 401: Problem, 404: Problem };

function notFound(id: string): HttpProblem {
  return new HttpProblem(404, 'ORDERS_NOT_FOUND', `no order ${id}`);
}

/** The orders HTTP API (CONTRACT section 3). Every route needs a bearer token. */
export function ordersRoutes(app: HttpApp, ctx: ModuleContext<OrdersSettings>): void {
  // onRequest: a caller without a valid token gets 401 before its body is even parsed.
  app.addHook('onRequest', authenticate);
  registerPlaceOrder(app, ctx);
  registerReads(app, ctx);
}

function registerPlaceOrder(app: HttpApp, ctx: ModuleContext<OrdersSettings>): void {
  app.post(
    '/orders',
    {
      schema: {
        ...common,
        summary: `Place an order (starts the checkout saga); at most ${ctx.settings.ordersPerUserPerMinute} per user per minute`,
        body: PlaceOrderBody,
        headers: IdempotencyHeaders,
        response: { 202: Accepted, 400: Problem, 401: Problem, 422: Problem, 429: Problem },
      },
    },
    async (request, reply) => {
      const placed = await placeOrder(ctx, {
        userId: request.user.sub,
        items: request.body.items,
        idempotencyKey: request.headers['idempotency-key'],
      });
      if (placed.replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(202).send({ id: placed.id, status: placed.status, totalCents: placed.totalCents });
    },
  );
}

function registerReads(app: HttpApp, ctx: ModuleContext): void {
  app.get(
    '/orders',
    {
      schema: {
        ...common,
        summary: "The caller's orders, newest first, a page at a time",
        querystring: PageQuery(),
        response: { 200: PageOf(Order), 400: Problem, 401: Problem },
      },
    },
    async (request) => listOrders(ctx.db, request.user.sub, request.query),
  );

  app.get(
    '/orders/:id',
    { schema: { ...common, summary: 'One order', params: IdParams, response: { 200: Order, ...errors } } },
    async (request) => {
      const order = await findOrder(ctx.db, request.user.sub, request.params.id);
      if (!order) throw notFound(request.params.id);
      return order;
    },
  );

  app.get(
    '/orders/:id/timeline',
    {
      schema: {
        ...common,
        summary:
          "Every message of the order's flow, from every module, in causal order (an admin: of any order)",
        params: IdParams,
        response: { 200: Type.Array(TimelineEntry), ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      // an admin may read any order's flow: the dashboard links each checkout saga to it
      const visible =
        request.user.role === 'admin'
          ? await orderExists(ctx.db, id)
          : (await findOrder(ctx.db, request.user.sub, id)) !== undefined;
      if (!visible) throw notFound(id);
      return orderTimeline(ctx.db, id);
    },
  );
}
