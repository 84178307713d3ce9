import type { Queue } from 'bullmq';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type InjectOptions,
} from 'fastify';
import type { Transport } from '../messaging/transport.js';
import type { HttpApp } from '../modules/module.js';
import { requireAdminSession } from './admin-session.js';
import { HttpProblem, sendProblem } from './errors.js';

const BASE_PATH = '/admin/queues';

function showsQueues(transport: Transport): transport is Transport & { boardQueues(): Queue[] } {
  return 'boardQueues' in transport && typeof transport.boardQueues === 'function';
}

/**
 * Mounts bull-board at `/admin/queues` (admins only: a bearer token or the dashboard's session
 * cookie, whose path covers it) when the transport is BullMQ: the partition queues of this
 * process's consumers. Dead letters are not on the board: `/admin` shows the kernel's store, the
 * one truth, and the `dlq.<module>.retry` copies (for broker tools) outlive a replay or a delete. The board lists the
 * queues subscribed when it loads, so until `subscribed()` (the kernel started: a broker that
 * answered late), it answers 503 `BUS_NOT_CONNECTED` instead of loading without them.
 *
 * The board is loaded at its first request, not at start: it weighs megabytes of RSS
 * (scripts/bench/findings.md), and most processes never show it. It then runs in a fastify instance of its own, which the routes
 * here hand each request to (`inject`), after the admin check.
 */
export async function registerBullBoard(
  app: HttpApp,
  transport: Transport,
  subscribed: () => boolean,
): Promise<void> {
  if (!showsQueues(transport)) return;
  let board: Promise<FastifyInstance> | undefined;
  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!board && !subscribed()) {
      return sendProblem(reply, {
        status: 503,
        code: 'BUS_NOT_CONNECTED',
        detail: 'the queues show once Redis answers and the consumers are subscribed (see /health/ready)',
      });
    }
    board ??= loadBoard(transport).catch((error: unknown) => {
      board = undefined;
      throw error;
    });
    const answer = await (await board).inject({
      method: request.method as InjectOptions['method'],
      url: request.url,
      headers: request.headers,
      ...(Buffer.isBuffer(request.body) ? { payload: request.body } : {}),
    });
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) reply.header(name, value);
    }
    return reply.code(answer.statusCode).send(answer.rawPayload);
  };
  app.addHook('onClose', async () => {
    await (await board?.catch(() => undefined))?.close();
  });
  await app.register(
    async (scope) => {
      // bull-board installs its own error handler, so answer auth failures here, as problem+json.
      scope.addHook('onRequest', async (request, reply) => {
        try {
          await requireAdminSession(request, reply);
        } catch (error) {
          if (!(error instanceof HttpProblem)) throw error;
          return sendProblem(reply, { status: error.status, code: error.code, detail: error.message });
        }
      });
      // bodies go to the board as they came
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
      scope.all('/', forward);
      scope.all('/*', forward);
    },
    { prefix: BASE_PATH },
  );
}

/** Headers of the board's answer that describe its own connection, not the content. */
const HOP_BY_HOP = new Set(['connection', 'content-length', 'keep-alive', 'transfer-encoding', 'date']);

async function loadBoard(transport: Transport & { boardQueues(): Queue[] }): Promise<FastifyInstance> {
  const [{ createBullBoard }, { BullMQAdapter }, { FastifyAdapter }] = await Promise.all([
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/fastify'),
  ]);
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BASE_PATH);
  createBullBoard({
    queues: transport.boardQueues().map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
  });
  const board = Fastify();
  await board.register(serverAdapter.registerPlugin(), { prefix: BASE_PATH });
  await board.ready();
  return board;
}
