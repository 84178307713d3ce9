import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { HttpApp } from '../modules/module.js';
import type { Logger } from '../observability/logger.js';
import { correlationIdOf, registerCorrelation } from './correlation.js';
import { problemErrorHandler, sendProblem } from './errors.js';

export const BODY_LIMIT_BYTES = 1024 * 1024;

/** The HTTP plumbing every process shares: strict validation, problem+json, correlation ids. */
export function createHttpServer(log: Logger): HttpApp {
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    genReqId: correlationIdOf,
    return503OnClosing: true,
    ajv: {
      // Reject unknown fields and wrong types instead of silently dropping or coercing them.
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: true },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setErrorHandler(problemErrorHandler);
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, {
      status: 404,
      code: 'HTTP_NOT_FOUND',
      detail: `no route ${request.method} ${request.url}`,
    }),
  );
  registerCorrelation(app);
  return app;
}
