import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { startTestKernel } from '../testing/test-kernel.js';
import { defineModule, type ModuleDefinition } from './module.js';
import { readModuleSettings } from './settings.js';

/** A module with one setting; its hooks see `ctx.settings` typed from its `settings` function. */
function notesModule(seen: number[]): ModuleDefinition {
  return defineModule({
    name: 'notes',
    settings: (read) => ({ limit: read.integer('NOTES_LIMIT', 10, 1, 100) }),
    start: (ctx) => {
      seen.push(ctx.settings.limit);
    },
  });
}

const other = defineModule({
  name: 'other',
  settings: () => {
    throw new Error('read although it does not run');
  },
});

describe('module settings', () => {
  it('are read from the environment loadConfig got, and handed to the module as ctx.settings', async () => {
    const seen: number[] = [];
    const test = await startTestKernel({ modules: [notesModule(seen)], env: { NOTES_LIMIT: '5' } });
    try {
      expect(seen).toEqual([5]);
      expect(test.context('notes').settings).toEqual({ limit: 5 });
      // without a catalogue option, the catalogue is the running modules
      expect(test.context('notes').catalogue.map((m) => m.name)).toEqual(['notes']);
    } finally {
      await test.dispose();
    }
  });

  it('stop the start with a ConfigError naming the variable', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'module-settings-'));
    const started = startTestKernel({ modules: [notesModule([])], env: { NOTES_LIMIT: '0' }, dataDir });
    const error = await started.then(
      () => undefined,
      (e: unknown) => e,
    );
    rmSync(dataDir, { recursive: true, force: true });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({
      variable: 'NOTES_LIMIT',
      message: 'NOTES_LIMIT: must be an integer from 1 to 100 (got "0")',
    });
  });

  it('are read only for the modules given (the ones the process runs)', () => {
    const config = loadConfig({ NOTES_LIMIT: '7', MODULES: 'notes' }, ['notes', 'other']);
    const settings = readModuleSettings(config, [notesModule([])]);
    expect([...settings]).toEqual([['notes', { limit: 7 }]]);
    expect(() => readModuleSettings(config, [other])).toThrow('read although it does not run');
  });
});
