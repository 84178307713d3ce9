import { Type } from 'typebox';
import {
  authenticate,
  type HttpApp,
  HttpProblem,
  type ModuleContext,
  TOKEN_TTL_SECONDS,
} from '../../kernel/index.js';
import { logIn } from './commands/log-in.js';
import { registerUser } from './commands/register-user.js';
import { findUserById } from './queries.js';

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
const Me = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    name: Type.String(),
    role: Type.Union([Type.Literal('user'), Type.Literal('admin')]),
  },
  strict,
);

/** Login attempts per client IP and minute (brute-force brake). */
export const LOGIN_RATE_LIMIT = { max: 10, timeWindow: '1 minute' } as const;

export function usersRoutes(app: HttpApp, ctx: ModuleContext): void {
  app.post(
    '/auth/register',
    {
      schema: {
        tags: ['users'],
        summary: 'Create an account',
        body: RegisterBody,
        response: { 201: RegisteredUser },
      },
    },
    async (request, reply) => reply.status(201).send(await registerUser(ctx, request.body)),
  );

  app.post(
    '/auth/login',
    {
      config: { rateLimit: LOGIN_RATE_LIMIT },
      schema: {
        tags: ['users'],
        summary: 'Exchange credentials for a token',
        body: LoginBody,
        response: { 200: Session },
      },
    },
    // expiresIn per call: the kernel's default (TOKEN_TTL_SECONDS * 1000) is read as seconds by
    // @fastify/jwt, which would make tokens live 1000 times too long.
    async (request) =>
      logIn(ctx, request.body, (claims) => app.jwt.sign(claims, { expiresIn: TOKEN_TTL_SECONDS })),
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
      const user = findUserById(ctx.db, request.user.sub);
      if (!user) throw new HttpProblem(404, 'USERS_NOT_FOUND', 'this account no longer exists');
      return { id: user.id, email: user.email, name: user.name, role: user.role };
    },
  );
}
