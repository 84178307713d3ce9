import { Type } from 'typebox';
import type { Kernel } from '../modules/kernel.js';
import type { HttpApp } from '../modules/module.js';
import { requireAdminSession } from './admin-session.js';
import { HttpProblem } from './errors.js';

const Filter = Type.Object(
  {
    consumer: Type.Optional(Type.String({ minLength: 1 })),
    type: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.String({ minLength: 1 }) });

/**
 * Operations on the kernel of this process: dead letters, outboxes, sagas (admins only: a bearer
 * token, or the dashboard's session cookie, which the dashboard's buttons call these with).
 */
export function registerAdminRoutes(app: HttpApp, kernel: Kernel): void {
  const admin = { onRequest: requireAdminSession };
  app.get('/admin/dead-letters', { ...admin, schema: { querystring: Filter } }, async (request) =>
    kernel.listDeadLetters(request.query),
  );
  app.post('/admin/dead-letters/:id/replay', { ...admin, schema: { params: IdParams } }, async (request) => {
    if (!(await kernel.replayDeadLetter(request.params.id))) {
      throw new HttpProblem(404, 'ADMIN_DEAD_LETTER_NOT_FOUND', `no dead letter ${request.params.id}`);
    }
    return { replayed: 1 };
  });
  app.post(
    '/admin/dead-letters/replay',
    { ...admin, schema: { body: Type.Optional(Filter) } },
    async (request) => ({
      replayed: await kernel.replayDeadLetters(request.body ?? {}),
    }),
  );
  app.delete(
    '/admin/dead-letters/:id',
    { ...admin, schema: { params: IdParams } },
    async (request, reply) => {
      if (!kernel.deleteDeadLetter(request.params.id)) {
        throw new HttpProblem(404, 'ADMIN_DEAD_LETTER_NOT_FOUND', `no dead letter ${request.params.id}`);
      }
      return reply.status(204).send();
    },
  );
  app.get('/admin/outbox', admin, async () => kernel.outboxStats());
  app.get(
    '/admin/sagas',
    {
      ...admin,
      schema: {
        querystring: Type.Object({ status: Type.Optional(Type.String()) }, { additionalProperties: false }),
      },
    },
    async (request) => kernel.listSagas(request.query.status),
  );
}
