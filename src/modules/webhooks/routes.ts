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
import { createSubscription } from './commands/create-subscription.js';
import { deleteSubscription } from './commands/delete-subscription.js';
import { listDeliveries, listSubscriptions, ownsSubscription } from './queries.js';
import type { WebhooksSettings } from './settings.js';

const strict = { additionalProperties: false } as const;

const CreateBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'http(s) URL the events are POSTed to' }),
    events: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
      minItems: 1,
      maxItems: 100,
      description: 'Event types, e.g. orders.order-confirmed (see /asyncapi.json)',
    }),
  },
  strict,
);

const Created = Type.Object(
  { id: Type.String(), secret: Type.String({ description: 'Signs every delivery; shown only here' }) },
  strict,
);

const Subscription = Type.Object(
  {
    id: Type.String(),
    url: Type.String(),
    events: Type.Array(Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
  },
  strict,
);

const Delivery = Type.Object(
  {
    id: Type.String({ description: 'Also the webhook-id header of every attempt' }),
    eventId: Type.String(),
    status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
    attempts: Type.Integer(),
    responseStatus: Type.Union([Type.Integer(), Type.Null()]),
    lastError: Type.Union([Type.String(), Type.Null()]),
  },
  strict,
);

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }, strict);

const common = { tags: ['webhooks'], security: [{ bearer: [] }] };

function notFound(id: string): HttpProblem {
  return new HttpProblem(404, 'WEBHOOKS_NOT_FOUND', `no webhook ${id}`);
}

/** The webhooks HTTP API (CONTRACT section 3). Every route needs a bearer token. */
export function webhooksRoutes(app: HttpApp, ctx: ModuleContext<WebhooksSettings>): void {
  // onRequest: a caller without a valid token gets 401 before its body is even parsed.
  app.addHook('onRequest', authenticate);

  app.post(
    '/webhooks',
    {
      schema: {
        ...common,
        summary: 'Subscribe a URL to events (deliveries are signed, Standard Webhooks style)',
        body: CreateBody,
        response: { 201: Created, 400: Problem, 401: Problem, 403: Problem, 409: Problem, 503: Problem },
      },
    },
    async (request, reply) => {
      const { sub: userId, role } = request.user;
      const created = await createSubscription(ctx, { userId, role, ...request.body });
      return reply.status(201).send(created);
    },
  );

  app.get(
    '/webhooks',
    {
      schema: {
        ...common,
        summary: "The caller's webhooks, oldest first, a page at a time",
        querystring: PageQuery(),
        response: { 200: PageOf(Subscription), 400: Problem, 401: Problem },
      },
    },
    async (request) => listSubscriptions(ctx.db, request.user.sub, request.query),
  );

  app.delete(
    '/webhooks/:id',
    {
      schema: {
        ...common,
        summary: 'Delete a webhook and its deliveries',
        params: IdParams,
        response: { 204: Type.Null({ description: 'Deleted' }), 401: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      if (!(await deleteSubscription(ctx, request.user.sub, request.params.id)))
        throw notFound(request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      schema: {
        ...common,
        summary: "A webhook's deliveries, newest first, a page at a time",
        params: IdParams,
        querystring: PageQuery(),
        response: { 200: PageOf(Delivery), 400: Problem, 401: Problem, 404: Problem },
      },
    },
    async (request) => {
      if (!(await ownsSubscription(ctx.db, request.user.sub, request.params.id))) {
        throw notFound(request.params.id);
      }
      return listDeliveries(ctx.db, request.params.id, request.query);
    },
  );
}
