/** An app child process: started from the built JavaScript, asked for RSS samples, stopped. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { PROJECT_ROOT } from '../lib/options.js';
import { withTimeout } from '../lib/stats.js';
import type { FromChild, ToChild } from './protocol.js';

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

export class Child {
  readonly #process: ChildProcess;
  readonly #output: string[] = [];
  /** Requests waiting for the child's answer, by id. */
  readonly #waiters = new Map<number, (answer: FromChild) => void>();
  #nextId = 0;
  #stopped: Promise<void> | undefined;
  port = 0;
  consumers: readonly string[] = [];
  /** Highest RSS sampled (bytes). */
  peakRss = 0;

  private constructor(entry: string, env: Record<string, string>, execArgv: readonly string[]) {
    this.#process = spawn(process.execPath, [...execArgv, entry], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    for (const stream of [this.#process.stdout, this.#process.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        this.#output.push(...chunk.split('\n').filter(Boolean));
        if (this.#output.length > 200) this.#output.splice(0, this.#output.length - 200);
      });
    }
    this.#process.on('message', (message: FromChild) => {
      if (message.type === 'rss') this.peakRss = Math.max(this.peakRss, message.rss);
      if (message.type === 'rss' || message.type === 'heap' || message.type === 'profiled') {
        this.#waiters.get(message.id)?.(message);
        this.#waiters.delete(message.id);
      }
    });
  }

  static async start(entry: string, env: Record<string, string>, execArgv: readonly string[] = []) {
    const child = new Child(entry, env, execArgv);
    const ready = new Promise<void>((resolve, reject) => {
      child.#process.on('message', (message: FromChild) => {
        if (message.type === 'ready') {
          child.port = message.port;
          child.consumers = message.consumers;
          resolve();
        }
        if (message.type === 'failed') reject(new Error(`app failed to start: ${message.error}`));
      });
      child.#process.once('exit', (code) =>
        reject(new Error(`app exited with ${code} before it was ready: ${child.lastOutput()}`)),
      );
    });
    try {
      await withTimeout(ready, START_TIMEOUT_MS, 'app start');
    } catch (error) {
      child.#process.kill('SIGKILL');
      throw error;
    }
    return child;
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** The last lines the child printed (its warnings and errors: LOG_LEVEL=warn). */
  lastOutput(lines = 3): string {
    return this.#output.slice(-lines).join(' | ').slice(0, 600);
  }

  /** Lines the child logged at warn level or above. */
  get warnings(): number {
    return this.#output.filter((line) => /"level":(4|5|6)0/.test(line)).length;
  }

  /** The child's RSS (bytes) and CPU time used so far (user + system, µs). */
  usage(): Promise<{ rss: number; cpuMicros: number }> {
    const id = this.#nextId++;
    const answer = new Promise<{ rss: number; cpuMicros: number }>((resolve) =>
      this.#waiters.set(id, (message) =>
        resolve(message.type === 'rss' ? message : { rss: 0, cpuMicros: 0 }),
      ),
    );
    this.#process.send({ type: 'rss', id } satisfies ToChild);
    return withTimeout(answer, 10_000, 'rss sample');
  }

  /** The child's heap in use after a full garbage collection (bytes). */
  heapAfterGc(): Promise<number> {
    const id = this.#nextId++;
    const answer = new Promise<number>((resolve) =>
      this.#waiters.set(id, (message) => resolve(message.type === 'heap' ? message.heapUsed : 0)),
    );
    this.#process.send({ type: 'heap', id } satisfies ToChild);
    return withTimeout(answer, 10_000, 'heap sample');
  }

  /** The child's RSS now (bytes). */
  async rss(): Promise<number> {
    return (await this.usage()).rss;
  }

  /** Starts a CPU profile in the child (the inspector, no restart). */
  startProfile(): void {
    this.#process.send({ type: 'profile-start' } satisfies ToChild);
  }

  /** Stops the CPU profile and has the child write it to `file`. */
  async stopProfile(file: string): Promise<void> {
    const id = this.#nextId++;
    const written = new Promise((resolve) => this.#waiters.set(id, resolve));
    this.#process.send({ type: 'profile-stop', id, file } satisfies ToChild);
    await withTimeout(written, 30_000, 'cpu profile');
  }

  /** Samples RSS every `everyMs` until the returned function is called (peak kept in peakRss). */
  sampleRss(everyMs: number): () => void {
    const timer = setInterval(() => void this.rss().catch(() => {}), everyMs);
    return () => clearInterval(timer);
  }

  /** Graceful stop (app.close), then SIGKILL if it does not exit in time. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      if (this.#process.exitCode !== null || this.#process.signalCode !== null) return;
      const exited = once(this.#process, 'exit');
      this.#process.send({ type: 'stop' } satisfies ToChild, (error) => {
        if (error) this.#process.kill('SIGKILL');
      });
      try {
        await withTimeout(exited, STOP_TIMEOUT_MS, 'app stop');
      } catch {
        this.#process.kill('SIGKILL');
        await once(this.#process, 'exit').catch(() => {});
      }
    })();
    return this.#stopped;
  }
}
