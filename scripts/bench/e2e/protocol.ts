/** Messages between the bench and its app children (IPC). */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export type ToChild =
  | { readonly type: 'rss'; readonly id: number }
  /** The heap in use after a full garbage collection (`--soak`). */
  | { readonly type: 'heap'; readonly id: number }
  | { readonly type: 'stop' }
  /** CPU profile of one phase (`--profile`): start, then stop into `file`. */
  | { readonly type: 'profile-start' }
  | { readonly type: 'profile-stop'; readonly id: number; readonly file: string };

export type FromChild =
  | { readonly type: 'ready'; readonly port: number; readonly consumers: readonly string[] }
  | { readonly type: 'rss'; readonly id: number; readonly rss: number; readonly cpuMicros: number }
  | { readonly type: 'heap'; readonly id: number; readonly heapUsed: number }
  | { readonly type: 'profiled'; readonly id: number }
  | { readonly type: 'failed'; readonly error: string }
  | { readonly type: 'stopped' };

/** Answers the bench's requests: RSS samples, CPU profiles, and a graceful stop (`close`, then exit 0). */
export function serveParent(close: () => Promise<void>): void {
  const send = (message: FromChild) => process.send?.(message);
  let profiler: Session | undefined;
  process.on('message', async (message: ToChild) => {
    if (message.type === 'rss') {
      const { user, system } = process.cpuUsage();
      send({ type: 'rss', id: message.id, rss: process.memoryUsage.rss(), cpuMicros: user + system });
    }
    if (message.type === 'heap') {
      collectGarbage();
      send({ type: 'heap', id: message.id, heapUsed: process.memoryUsage().heapUsed });
    }
    if (message.type === 'profile-start') {
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    if (message.type === 'profile-stop' && profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(message.file, JSON.stringify(profile));
      profiler.disconnect();
      profiler = undefined;
      send({ type: 'profiled', id: message.id });
    }
    if (message.type === 'stop') {
      close().then(
        () => {
          send({ type: 'stopped' });
          process.exit(0);
        },
        (error: unknown) => {
          send({ type: 'failed', error: String(error) });
          process.exit(1);
        },
      );
    }
  });
  process.on('disconnect', () => process.exit(0)); // the bench went away
}

/** A full garbage collection, without starting the app with --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

export function reportFailure(error: unknown): never {
  process.send?.({ type: 'failed', error: error instanceof Error ? error.message : String(error) });
  console.error(error);
  process.exit(1);
}
