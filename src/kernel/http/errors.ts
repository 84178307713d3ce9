import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { NewerSchemaVersionError } from '../messaging/errors.js';
import { DatabaseBusyError } from '../persistence/db.js';
import { transientPostgresError } from '../persistence/postgres.js';
import { problemTypeOf } from './error-docs.js';

/** An error with an HTTP status and a stable code (`<MODULE>_<WHAT>`), answered as problem+json. */
export class HttpProblem extends Error {
  readonly title: string;
  /** Sent as `retry-after` (a 503 or 429 that will pass soon). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options: { readonly title?: string; readonly retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.title = options.title ?? defaultTitle(status);
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** The response schema of every error (for OpenAPI): RFC 9457 problem details plus a stable code. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    errors: Type.Optional(
      Type.Array(
        Type.Object({ path: Type.String(), message: Type.String() }, { additionalProperties: false }),
      ),
    ),
  },
  { additionalProperties: false, description: 'RFC 9457 problem details' },
);

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { path: string; message: string }[];
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

function defaultTitle(status: number): string {
  return TITLES[status] ?? 'Error';
}

/** The fastify error codes we answer with their own status and code. */
const FASTIFY_CODES: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'HTTP_BODY_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'HTTP_UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'HTTP_INVALID_JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'HTTP_INVALID_JSON' },
};

export function sendProblem(
  reply: FastifyReply,
  problem: Omit<ProblemBody, 'type' | 'title'> & { title?: string },
): FastifyReply {
  const body: ProblemBody = {
    type: problemTypeOf(problem.code),
    title: problem.title ?? defaultTitle(problem.status),
    ...problem,
  };
  return reply.status(problem.status).type('application/problem+json').send(body);
}

/** A JSON pointer to the offending value: `/items/0/sku`, or `/extra` for an unknown field. */
function problemPath(instancePath: string, unknownField: unknown): string {
  const path = unknownField === undefined ? instancePath : `${instancePath}/${String(unknownField)}`;
  return path || '/';
}

/** Every error becomes RFC 9457 problem+json; never a stack trace. */
export function problemErrorHandler(
  error: FastifyError | HttpProblem | NewerSchemaVersionError | DatabaseBusyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if (error instanceof NewerSchemaVersionError) {
    // an instance of an older build meeting data a newer build wrote: another instance (or this
    // one, once upgraded) answers; a rolling upgrade is under way
    reply.header('retry-after', '5');
    return sendProblem(reply, {
      status: 503,
      code: 'HTTP_NEWER_SCHEMA_VERSION',
      detail: 'this instance runs an older build than the data this request needs: try again shortly',
    });
  }
  if (error instanceof DatabaseBusyError) {
    reply.header('retry-after', '1');
    return sendProblem(reply, { status: 503, code: 'DATABASE_BUSY', detail: error.message });
  }
  if (transientPostgresError(error)) {
    // the module's PostgreSQL server is away or full: nothing was committed, the pool reconnects
    reply.header('retry-after', '2');
    return sendProblem(reply, {
      status: 503,
      code: 'DATABASE_UNAVAILABLE',
      detail: 'the database of this module does not answer now',
    });
  }
  if (error instanceof HttpProblem) {
    if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
    return sendProblem(reply, {
      status: error.status,
      code: error.code,
      title: error.title,
      detail: error.message,
    });
  }
  if (error.validation) {
    return sendProblem(reply, {
      status: 400,
      code: 'HTTP_VALIDATION',
      detail: `request ${error.validationContext ?? 'input'} is invalid`,
      errors: error.validation.map((v) => ({
        path: problemPath(
          v.instancePath,
          v.keyword === 'additionalProperties' ? v.params.additionalProperty : undefined,
        ),
        message: v.message ?? 'invalid',
      })),
    });
  }
  const known = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (known) return sendProblem(reply, { ...known, detail: error.message });
  const status = error.statusCode ?? 500;
  if (status >= 500) {
    request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, { status: 500, code: 'HTTP_INTERNAL', detail: 'an internal error occurred' });
  }
  return sendProblem(reply, { status, code: `HTTP_${status}`, detail: error.message });
}
