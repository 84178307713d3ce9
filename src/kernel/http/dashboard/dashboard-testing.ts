import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from 'typebox';
import { createHost } from '../../host/create-host.js';
import {
  defineEvent,
  defineModule,
  type HttpApp,
  loadConfig,
  type ModuleDefinition,
  on,
  TOKEN_TTL_SECONDS,
} from '../../index.js';
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

/** The error of a failing note whose text starts with "full ": the same for each (one group). */
export const ARCHIVE_FULL = 'the archive is full';

/**
 * The `notes` module: its `notes.archive` consumer fails for the texts in `failing` (with
 * ARCHIVE_FULL for a text starting with "full ", else `cannot archive <text>`), and records the
 * others in `archived`, in the order handled.
 */
export function createNotesModule(failing: ReadonlySet<string>, archived: string[]): ModuleDefinition {
  return defineModule({
    name: 'notes',
    messages: [noteFiled],
    subscriptions: [
      {
        consumer: 'notes.archive',
        handlers: [
          on([noteFiled], async (message, ctx) => {
            const { text } = message.data as { text: string };
            if (failing.has(text))
              throw new Error(text.startsWith('full ') ? ARCHIVE_FULL : `cannot archive ${text}`);
            if (await ctx.transact(() => {})) archived.push(text);
          }),
        ],
      },
    ],
  });
}

/** Publishes notes.note-filed from a running notes module (through its outbox, like any module would). */
export async function fileNote(app: HttpApp, text: string): Promise<void> {
  const running = app.kernel.modules.find((m) => m.definition.name === 'notes');
  if (!running) throw new Error('the notes module does not run here');
  await running.context.transact((tx) => tx.stage(noteFiled({ noteId: randomUUID(), text })));
}

export async function startDashboardFixture(): Promise<DashboardFixture> {
  const failing = new Set<string>();
  const archived: string[] = [];
  const notes = createNotesModule(failing, archived);
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
    fileNote: (text) => void fileNote(app, text),
    requestTrip: (city) =>
      contextOf('trips').transact((tx) => tx.stage(tripRequested({ tripId: randomUUID(), city }))),
    token: (role) => app.jwt.sign({ sub: `${role}-1`, role }, { expiresIn: TOKEN_TTL_SECONDS }),
    async close() {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
