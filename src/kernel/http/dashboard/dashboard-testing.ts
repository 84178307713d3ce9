import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from 'typebox';
import { createHost } from '../../host/create-host.js';
import { defineEvent, defineModule, type HttpApp, loadConfig, on, TOKEN_TTL_SECONDS } from '../../index.js';
import { tripModules, tripRequested } from '../../testing/fixtures/trip.js';

/**
 * The app the dashboard tests look at: the trip saga fixture (sagas that complete and compensate)
 * and a `notes` module whose archiving consumer fails for the notes a test names, so their
 * messages end up as dead letters, and succeeds for them again once the test lets it.
 */
export const noteFiled = defineEvent({
  type: 'notes.note-filed',
  schema: Type.Object({ noteId: Type.String(), text: Type.String() }),
  partitionKey: (d) => d.noteId,
});

export interface DashboardFixture {
  readonly app: HttpApp;
  /** Texts whose archiving fails (each attempt), so their messages are dead-lettered. */
  readonly failing: Set<string>;
  /** Texts archived, in the order their messages were handled. */
  readonly archived: string[];
  /** Publishes notes.note-filed (through the outbox, like any module would). */
  fileNote(text: string): void;
  /** Starts a trips.booking saga; a city in `fullCities` ends compensated, others completed. */
  requestTrip(city: string): void;
  /** A JWT signed like the users module's, valid for TOKEN_TTL_SECONDS. */
  token(role: 'admin' | 'user'): string;
  close(): Promise<void>;
}

export const FULL_CITY = 'Fullton';

export async function startDashboardFixture(): Promise<DashboardFixture> {
  const failing = new Set<string>();
  const archived: string[] = [];
  const notes = defineModule({
    name: 'notes',
    messages: [noteFiled],
    subscriptions: [
      {
        consumer: 'notes.archive',

        handlers: [
          on([noteFiled], async (message, ctx) => {
            const { text } = message.data as { text: string };
            if (failing.has(text)) throw new Error(`cannot archive ${text}`);
            if (await ctx.transact(() => {})) archived.push(text);
          }),
        ],
      },
    ],
  });
  const modules = [...tripModules({ full: new Set([FULL_CITY]), silent: new Set() }), notes];
  const dataDir = mkdtempSync(join(tmpdir(), 'dashboard-'));
  const config = loadConfig(
    {
      DATA_DIR: dataDir,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      JWT_SECRET: 'd'.repeat(40),
      // requests from loopback may say they came over https (X-Forwarded-Proto): the Secure cookie
      TRUST_PROXY: '127.0.0.1',
    },
    modules.map((m) => m.name),
  );
  const app = await createHost(config, { catalogue: modules, retry: { initialDelayMs: 5 } });
  const contextOf = (name: string) => {
    const running = app.kernel.modules.find((m) => m.definition.name === name);
    if (!running) throw new Error(`module ${name} does not run`);
    return running.context;
  };
  return {
    app,
    failing,
    archived,
    fileNote: (text) =>
      contextOf('notes').transact((tx) => tx.stage(noteFiled({ noteId: randomUUID(), text }))),
    requestTrip: (city) =>
      contextOf('trips').transact((tx) => tx.stage(tripRequested({ tripId: randomUUID(), city }))),
    token: (role) => app.jwt.sign({ sub: `${role}-1`, role }, { expiresIn: TOKEN_TTL_SECONDS }),
    async close() {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
