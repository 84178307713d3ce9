import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { AccountDirectory } from '../accounts/directory.js';
import type { Config } from '../config.js';
import type { HttpApp } from '../modules/module.js';
import type { Logger } from '../observability/logger.js';
import { packageInfo } from '../package-info.js';
import { registerAuth } from './auth.js';
import { correlationIdOf, registerCorrelation } from './correlation.js';
import { HttpProblem, problemErrorHandler } from './errors.js';
import { recordRoutesForAllow } from './method-not-allowed.js';
import { type DocumentParts, mergedOpenApi } from './openapi.js';
import { registerQueryIntegers } from './query-integers.js';
import { memoryRateCounters, redisRateCounters } from './rate-counters.js';
import { rateLimitRedis } from './rate-limit-store.js';

export const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * The HTTP plumbing every process shares: strict validation (unknown fields and wrong types are
 * rejected, never dropped or coerced), problem+json errors, correlation ids, JWT auth, per-route
 * rate limits (and `app.rateCounters` in the same store, for limits a module counts itself), and
 * an OpenAPI document built from the routes' schemas. `accounts` is what the process knows of the
 * accounts whose tokens it checks (the kernel's; an empty one takes every token on its claims).
 */
export async function createHttpServer(
  log: Logger,
  config: Config,
  accounts?: AccountDirectory,
): Promise<HttpApp> {
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    genReqId: correlationIdOf,
    return503OnClosing: true,
    // behind the gateway (or another proxy): the client's address from X-Forwarded-For
    ...(config.trustProxy ? { trustProxy: config.trustProxy } : {}),
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: true },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setErrorHandler(problemErrorHandler);
  app.setNotFoundHandler(recordRoutesForAllow(app)); // 405 with allow, else 404
  registerCorrelation(app);
  registerQueryIntegers(app);
  await registerAuth(app, config.jwtSecret, accounts);
  const store = rateLimitRedis(config, log);
  if (store) app.addHook('onClose', () => store.close());
  await app.register(rateLimit, {
    global: false,
    ...(store ? { redis: store.redis, nameSpace: store.nameSpace, skipOnError: true } : {}),
    errorResponseBuilder: (_request, context) =>
      new HttpProblem(429, 'HTTP_RATE_LIMITED', `too many requests; retry in ${context.after}`),
  });
  app.decorate(
    'rateCounters',
    store ? redisRateCounters(store.redis, store.nameSpace) : memoryRateCounters(),
  );
  await app.register(swagger, {
    openapi: {
      info: {
        title: packageInfo.name,
        version: packageInfo.version,
        description: 'Order processing as an event-driven modular monolith',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  });
  app.decorate('documentParts', { openapi: [], asyncapi: [] } satisfies DocumentParts);
  const document = () => mergedOpenApi(app.swagger(), app.documentParts);
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    transformSpecificationClone: false,
    transformSpecification: () => document(),
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => document());
  return app;
}
