import jwt from '@fastify/jwt';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpApp } from '../modules/module.js';
import { HttpProblem } from './errors.js';

export type Role = 'user' | 'admin';

/** The authenticated caller, from a verified JWT. */
export interface AuthUser {
  /** User id (the `sub` claim). */
  readonly sub: string;
  readonly role: Role;
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: AuthUser;
    user: AuthUser;
  }
}

export const TOKEN_TTL_SECONDS = 3600;

/**
 * JWT with the algorithm pinned (HS256: `alg: none` and algorithm swaps are refused) and `exp`
 * required, signed with JWT_SECRET. Every process verifies with the same shared secret.
 */
export async function registerAuth(app: HttpApp, secret: string): Promise<void> {
  await app.register(jwt, {
    secret,
    sign: { algorithm: 'HS256', expiresIn: TOKEN_TTL_SECONDS },
    verify: { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] },
  });
}

/**
 * Route hook: 401 unless the request carries a valid bearer token. Use it as `onRequest`, so an
 * anonymous caller gets 401 before the body is parsed or validated (and learns nothing of it).
 */
export async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  try {
    await request.jwtVerify();
  } catch {
    throw new HttpProblem(401, 'AUTH_INVALID_TOKEN', 'a valid bearer token is required');
  }
  assertKnownCaller(request.user);
}

/** 401 unless verified claims name a subject and a role this product knows. */
export function assertKnownCaller(claims: AuthUser): void {
  const { sub, role } = claims;
  if (typeof sub !== 'string' || (role !== 'user' && role !== 'admin')) {
    throw new HttpProblem(401, 'AUTH_INVALID_TOKEN', 'the token lacks a subject or role');
  }
}

/** Route hook (`onRequest`): 401 without a valid token, 403 unless the caller is an admin. */
export async function requireAdmin(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  await authenticate(request, reply);
  if (request.user.role !== 'admin')
    throw new HttpProblem(403, 'AUTH_ADMIN_ONLY', 'this route is for admins');
}
