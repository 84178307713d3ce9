import { Type } from 'typebox';
import type { Kernel } from '../modules/kernel.js';
import type { HttpApp } from '../modules/module.js';
import { requireAdminSession } from './admin-session.js';
import { HttpProblem } from './errors.js';
import { PageOf, PageQuery } from './pagination.js';

const filters = {
  consumer: Type.Optional(Type.String({ minLength: 1 })),
  type: Type.Optional(Type.String({ minLength: 1 })),
  error: Type.Optional(Type.String({ minLength: 1, description: 'The error text, whole' })),
};
const Filter = Type.Object(filters, { additionalProperties: false });
const IdParams = Type.Object({ id: Type.String({ minLength: 1 }) });
const tags = ['admin'];

const DeadLetter = Type.Object({
  id: Type.String(),
  consumer: Type.String(),
  queue: Type.String(),
  event: Type.Unknown({ description: 'The envelope as received, or its raw text when it was not one' }),
  error: Type.String(),
  attempts: Type.Integer(),
  failedAt: Type.String({ format: 'date-time' }),
});
const Saga = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: Type.String(),
  step: Type.String(),
  state: Type.Unknown(),
  deadline: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  correlationId: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

/**
 * Operations on the kernel of this process: dead letters, outboxes, sagas (admins only: a bearer
 * token, or the dashboard's session cookie, which the dashboard's buttons call these with).
 */
export function registerAdminRoutes(app: HttpApp, kernel: Kernel): void {
  const admin = { onRequest: requireAdminSession };
  app.get(
    '/admin/dead-letters',
    {
      ...admin,
      schema: {
        tags,
        summary: 'Dead letters of the modules of this process, oldest first, a page at a time 🛡',
        querystring: PageQuery(filters),
        response: { 200: PageOf(DeadLetter) },
      },
    },
    async (request) => await kernel.listDeadLetters(request.query),
  );
  app.post(
    '/admin/dead-letters/:id/replay',
    { ...admin, schema: { tags, params: IdParams } },
    async (request) => {
      if (!(await kernel.replayDeadLetter(request.params.id))) {
        throw new HttpProblem(404, 'ADMIN_DEAD_LETTER_NOT_FOUND', `no dead letter ${request.params.id}`);
      }
      return { replayed: 1 };
    },
  );
  app.post(
    '/admin/dead-letters/replay',
    { ...admin, schema: { tags, body: Type.Optional(Filter) } },
    async (request) => ({
      replayed: await kernel.replayDeadLetters(request.body ?? {}),
    }),
  );
  app.delete(
    '/admin/dead-letters',
    {
      ...admin,
      schema: {
        tags,
        summary:
          "Deletes the dead letters of a consumer of this process that match the filter (a dashboard group's) 🛡",
        querystring: Type.Object(
          { ...filters, consumer: Type.String({ minLength: 1 }) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => ({ deleted: await kernel.deleteDeadLetters(request.query) }),
  );
  app.delete(
    '/admin/dead-letters/:id',
    { ...admin, schema: { tags, params: IdParams } },
    async (request, reply) => {
      if (!(await kernel.deleteDeadLetter(request.params.id))) {
        throw new HttpProblem(404, 'ADMIN_DEAD_LETTER_NOT_FOUND', `no dead letter ${request.params.id}`);
      }
      return reply.status(204).send();
    },
  );
  // One row per module of this process: bounded, so not paginated.
  app.get('/admin/outbox', { ...admin, schema: { tags } }, async () => await kernel.outboxStats());
  app.get(
    '/admin/sagas',
    {
      ...admin,
      schema: {
        tags,
        summary: 'Saga instances of the modules of this process, newest started first, a page at a time 🛡',
        querystring: PageQuery({ status: Type.Optional(Type.String()) }),
        response: { 200: PageOf(Saga) },
      },
    },
    async (request) => await kernel.listSagas(request.query),
  );
}
