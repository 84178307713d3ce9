import { Type } from 'typebox';
import {
  type AuthUser,
  authenticate,
  clientKey,
  type HttpApp,
  HttpProblem,
  type ModuleContext,
  ProblemSchema as Problem,
  TOKEN_TTL_SECONDS,
} from '../../kernel/index.js';
import { changePassword } from './commands/change-password.js';
import { logIn } from './commands/log-in.js';
import { registerUser } from './commands/register-user.js';
import { attemptLimits } from './limits.js';
import type { HashingLanes } from './password.js';
import { findUserById } from './queries.js';
import type { UsersSettings } from './settings.js';

const strict = { additionalProperties: false } as const;
const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
/** Long enough for passphrases, short enough that hashing stays cheap to refuse. */
const Password = Type.String({ minLength: 8, maxLength: 1024 });

const RegisterBody = Type.Object(
  { email: Email, password: Password, name: Type.String({ minLength: 1, maxLength: 200 }) },
  strict,
);
const LoginBody = Type.Object(
  { email: Email, password: Type.String({ minLength: 1, maxLength: 1024 }) },
  strict,
);
const RegisteredUser = Type.Object({ id: Type.String(), email: Type.String(), name: Type.String() }, strict);
const Session = Type.Object(
  { token: Type.String(), expiresIn: Type.Integer({ description: 'seconds until the token expires' }) },
  strict,
);
const PasswordChangeBody = Type.Object(
  { currentPassword: Type.String({ minLength: 1, maxLength: 1024 }), newPassword: Password },
  strict,
);
const Me = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    name: Type.String(),
    role: Type.Union([Type.Literal('user'), Type.Literal('admin')]),
  },
  strict,
);

export function usersRoutes(app: HttpApp, ctx: ModuleContext<UsersSettings>, hashing: HashingLanes): void {
  const limits = attemptLimits(app.rateCounters, ctx.settings);
  // expiresIn per call: the kernel's default (TOKEN_TTL_SECONDS * 1000) is read as seconds by
  // @fastify/jwt, which would make tokens live 1000 times too long.
  const sign = (claims: AuthUser) => app.jwt.sign(claims, { expiresIn: TOKEN_TTL_SECONDS });
  app.post(
    '/auth/register',
    {
      schema: {
        tags: ['users'],
        summary: 'Create an account',
        description:
          'Limited per client address (USERS_REGISTER_PER_IP per USERS_REGISTER_WINDOW_SECONDS): past it, ' +
          '429 with retry-after. 503 USERS_BUSY (retry-after) when too many sign-ups wait for hashing.',
        body: RegisterBody,
        response: { 201: RegisteredUser, 400: Problem, 409: Problem, 429: Problem, 503: Problem },
      },
    },
    async (request, reply) => {
      const user = await limits.register(clientKey(request), () =>
        registerUser(ctx, hashing.signUp, request.body),
      );
      return reply.status(201).send(user);
    },
  );

  app.post(
    '/auth/login',
    {
      // Signing in changes nothing the bus carries, and a token is what reads need while the
      // process refuses commands: never refused for backpressure.
      config: { backpressure: false },
      schema: {
        tags: ['users'],
        summary: 'Exchange credentials for a token',
        description:
          'Failed attempts (401) are limited per account and client address, per account and per address ' +
          '(USERS_LOGIN_FAILURES_*): past one, 429 with retry-after, whatever the password. Successful ' +
          'sign-ins are not limited. 503 USERS_BUSY (retry-after) when too many sign-ins wait for hashing.',
        body: LoginBody,
        response: { 200: Session, 400: Problem, 401: Problem, 429: Problem, 503: Problem },
      },
    },
    async (request) =>
      limits.login(clientKey(request), request.body.email, (guard) =>
        logIn(ctx, hashing.signIn, request.body, sign, guard),
      ),
  );

  app.get(
    '/users/me',
    {
      onRequest: authenticate,
      schema: {
        tags: ['users'],
        summary: 'The caller’s account',
        security: [{ bearer: [] }],
        response: { 200: Me },
      },
    },
    async (request) => {
      const user = await findUserById(ctx.db, request.user.sub);
      if (!user) throw new HttpProblem(404, 'USERS_NOT_FOUND', 'this account no longer exists');
      return { id: user.id, email: user.email, name: user.name, role: user.role };
    },
  );

  app.post(
    '/users/me/password',
    {
      onRequest: authenticate,
      schema: {
        tags: ['users'],
        summary: 'Change the caller’s password',
        description:
          'Answers a new token: every token issued before (this one included) is refused from now on, ' +
          'in every process once users.account-changed reaches it. A wrong current password is 403 ' +
          'USERS_WRONG_PASSWORD and counts against the sign-in limits like a failed login.',
        security: [{ bearer: [] }],
        body: PasswordChangeBody,
        response: {
          200: Session,
          400: Problem,
          401: Problem,
          403: Problem,
          404: Problem,
          429: Problem,
          503: Problem,
        },
      },
    },
    async (request) => {
      const user = await findUserById(ctx.db, request.user.sub);
      if (!user) throw new HttpProblem(404, 'USERS_NOT_FOUND', 'this account no longer exists');
      return limits.login(clientKey(request), user.email, (guard) =>
        changePassword(ctx, hashing.signIn, user, request.body, sign, guard),
      );
    },
  );
}
