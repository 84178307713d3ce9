import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { runInContext } from '../messaging/context.js';
import type { HttpApp } from '../modules/module.js';

export const CORRELATION_HEADER = 'x-correlation-id';
const ACCEPTABLE_ID = /^[\w.:-]{1,128}$/;

/** The request id: the caller's `x-correlation-id` when it is a sane token, else a new UUID. */
export function correlationIdOf(request: { headers: Record<string, string | string[] | undefined> }): string {
  const given = request.headers[CORRELATION_HEADER];
  return typeof given === 'string' && ACCEPTABLE_ID.test(given) ? given : randomUUID();
}

/**
 * Makes the request's correlation id the causal context of everything the request does: the
 * messages its handler stages, and every log line. Echoes it in the response.
 */
export function registerCorrelation(app: HttpApp): void {
  const enter = (request: FastifyRequest, _reply: unknown, done: () => void) =>
    runInContext({ correlationId: request.id, causationId: null }, done);
  app.addHook('onRequest', enter);
  // Body parsing leaves the context of onRequest; enter it again right before the handler.
  app.addHook('preHandler', enter);
  app.addHook('onSend', async (request, reply) => {
    reply.header(CORRELATION_HEADER, request.id);
  });
}
