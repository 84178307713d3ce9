import { connect } from 'node:net';

/** Resolves with a reason to skip when nothing answers at `url` (tcp connect within 1 s). */
export function unreachableReason(url: string, defaultPort: number): Promise<string | undefined> {
  const { hostname, port } = new URL(url);
  const target = { host: hostname || '127.0.0.1', port: Number(port) || defaultPort };
  return new Promise((resolve) => {
    const socket = connect(target);
    const done = (reason: string | undefined) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(1000, () => done(`nothing answers at ${target.host}:${target.port} (timeout)`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (error) =>
      done(`nothing answers at ${target.host}:${target.port} (${error.message})`),
    );
  });
}

export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The first node of AMQP_URL (it may list a cluster's nodes): the specs talk to one broker. */
export const amqpUrl =
  (process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672').split(',')[0]?.trim() ?? '';

/** Why broker tests for Redis cannot run here, or undefined when Redis answers. */
export const redisSkipReason = (): Promise<string | undefined> => unreachableReason(redisUrl, 6379);
/** Why broker tests for RabbitMQ cannot run here, or undefined when RabbitMQ answers. */
export const amqpSkipReason = (): Promise<string | undefined> => unreachableReason(amqpUrl, 5672);
