import jwt from '@fastify/jwt';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AccountDirectory, type Role } from '../accounts/directory.js';
import type { HttpApp } from '../modules/module.js';
import { HttpProblem } from './errors.js';

export type { Role };

/** The authenticated caller, from a verified JWT. */
export interface AuthUser {
  /** User id (the `sub` claim). */
  readonly sub: string;
  readonly role: Role;
  /**
   * The account's token version when the token was issued (the `ver` claim): a token older than
   * the version the process knows is refused. Absent from tokens issued before versions existed,
   * read as 0 (the version every account starts at).
   */
  readonly ver?: number;
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: AuthUser;
    user: AuthUser;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** What this process knows of the accounts whose tokens it checks (docs/adr/0022). */
    accounts: AccountDirectory;
  }
}

export const TOKEN_TTL_SECONDS = 3600;

/**
 * JWT with the algorithm pinned (HS256: `alg: none` and algorithm swaps are refused) and `exp`
 * required, signed with JWT_SECRET. Every process verifies with the same shared secret.
 */
export async function registerAuth(
  app: HttpApp,
  secret: string,
  accounts = new AccountDirectory(),
): Promise<void> {
  app.decorate('accounts', accounts);
  await app.register(jwt, {
    secret,
    sign: { algorithm: 'HS256', expiresIn: TOKEN_TTL_SECONDS },
    verify: { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] },
  });
}

/**
 * Route hook: 401 unless the request carries a valid bearer token of an account whose password,
 * role and existence have not changed since it was issued, as far as this process knows. Use it
 * as `onRequest`, so an anonymous caller gets 401 before the body is parsed or validated (and
 * learns nothing of it).
 */
export async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  try {
    await request.jwtVerify();
  } catch {
    throw new HttpProblem(401, 'AUTH_INVALID_TOKEN', 'a valid bearer token is required');
  }
  assertCurrentCaller(request.server, request.user);
}

/**
 * 401 unless verified claims name a subject and a role this product knows (and a token version,
 * when they carry one), and the process's account directory does not know the token to be
 * outdated or its account deleted: one map lookup, no database read.
 */
export function assertCurrentCaller(app: FastifyInstance, claims: AuthUser): void {
  const { sub, role, ver } = claims;
  const versioned = ver === undefined || (Number.isSafeInteger(ver) && ver >= 0);
  if (typeof sub !== 'string' || (role !== 'user' && role !== 'admin') || !versioned) {
    throw new HttpProblem(401, 'AUTH_INVALID_TOKEN', 'the token lacks a subject or role');
  }
  const standing = app.accounts.standing(sub, ver ?? 0);
  if (standing === 'deleted') {
    throw new HttpProblem(401, 'AUTH_TOKEN_REVOKED', 'the account of this token was deleted');
  }
  if (standing === 'outdated') {
    throw new HttpProblem(
      401,
      'AUTH_TOKEN_REVOKED',
      "the account's password or role changed after this token was issued: sign in again",
    );
  }
}

/** Route hook (`onRequest`): 401 without a valid token, 403 unless the caller is an admin. */
export async function requireAdmin(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  await authenticate(request, reply);
  if (request.user.role !== 'admin')
    throw new HttpProblem(403, 'AUTH_ADMIN_ONLY', 'this route is for admins');
}
