import type { Queue } from 'bullmq';
import type { Transport } from '../messaging/transport.js';
import type { HttpApp } from '../modules/module.js';
import { requireAdmin } from './auth.js';
import { HttpProblem, sendProblem } from './errors.js';

const BASE_PATH = '/admin/queues';

function showsQueues(transport: Transport): transport is Transport & { boardQueues(): Queue[] } {
  return 'boardQueues' in transport && typeof transport.boardQueues === 'function';
}

/**
 * Mounts bull-board at `/admin/queues` (admins only) when the transport is BullMQ: the partition
 * queues of this process's consumers and the `dlq.<module>.retry` copies. Call after the kernel
 * has subscribed its consumers.
 */
export async function registerBullBoard(app: HttpApp, transport: Transport): Promise<void> {
  if (!showsQueues(transport)) return;
  // loaded here, on BullMQ only: bull-board weighs ~25 MB of RSS
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
  await app.register(
    async (scope) => {
      // bull-board installs its own error handler, so answer auth failures here, as problem+json.
      scope.addHook('onRequest', async (request, reply) => {
        try {
          await requireAdmin(request, reply);
        } catch (error) {
          if (!(error instanceof HttpProblem)) throw error;
          return sendProblem(reply, { status: error.status, code: error.code, detail: error.message });
        }
      });
      await scope.register(serverAdapter.registerPlugin());
    },
    { prefix: BASE_PATH },
  );
}
