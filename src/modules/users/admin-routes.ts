import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import {
  type HttpApp,
  type ModuleContext,
  ProblemSchema as Problem,
  requireAdmin,
} from '../../kernel/index.js';
import { type AccountAdmin, changeRole, deleteUser } from './commands/manage-account.js';
import type { UsersSettings } from './settings.js';

const strict = { additionalProperties: false } as const;
const Role = Type.Union([Type.Literal('user'), Type.Literal('admin')]);
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }, strict);
const RoleBody = Type.Object({ role: Role }, strict);
const Account = Type.Object(
  { id: Type.String(), email: Type.String(), name: Type.String(), role: Role },
  strict,
);
const tags = ['users'];
const security = [{ bearer: [] }];
const refusals = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem };

/** The admin's routes over other accounts: change a role, delete an account (both 🛡). */
export function usersAdminRoutes(app: HttpApp, ctx: ModuleContext<UsersSettings>): void {
  const adminOf = (request: FastifyRequest): AccountAdmin => ({
    callerId: request.user.sub,
    configuredAdminEmail: ctx.settings.admin?.email,
  });

  app.post(
    '/users/:id/role',
    {
      onRequest: requireAdmin,
      schema: {
        tags,
        security,
        summary: 'Give an account a role 🛡',
        description:
          "A change refuses the account's tokens issued before (it signs in again for one with the new " +
          'role): in this process at once, in every other once users.account-changed reaches it. The ' +
          'same role changes nothing. 409 USERS_ACCOUNT_PROTECTED for the caller’s own account and for ' +
          'the one ADMIN_EMAIL configures.',
        params: IdParams,
        body: RoleBody,
        response: { 200: Account, ...refusals },
      },
    },
    async (request) => changeRole(ctx, adminOf(request), request.params.id, request.body.role),
  );

  app.delete(
    '/users/:id',
    {
      onRequest: requireAdmin,
      schema: {
        tags,
        security,
        summary: 'Delete an account 🛡',
        description:
          'Every token of the account is refused (users.account-changed, deleted) and its email is free ' +
          'again; what other modules keep of it (orders, balance, notifications) stays. 409 ' +
          'USERS_ACCOUNT_PROTECTED for the caller’s own account and for the one ADMIN_EMAIL configures.',
        params: IdParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...refusals },
      },
    },
    async (request, reply) => {
      await deleteUser(ctx, adminOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  );
}
