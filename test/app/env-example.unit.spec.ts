/**
 * `.env.example` lists the defaults: copied to `.env` as it is, it changes nothing, for the kernel
 * nor for any module (a variable set even to its default can have an effect: REDIS_URL turns the
 * service registry on).
 */
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { moduleCatalogue } from '../../src/app.js';
import { type Config, loadConfig, readSettings } from '../../src/kernel/index.js';

const names = moduleCatalogue.map((module) => module.name);
const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');

/** What a configuration does, without what differs between any two loads (the random secret, the env copy). */
const behaviour = ({ jwtSecret: _secret, env: _env, ...rest }: Config) => rest;

describe('.env.example', () => {
  it('configures exactly what no .env does, when copied as it is', () => {
    const example = parseEnv(text) as Record<string, string>;
    expect(Object.keys(example).length).toBeGreaterThan(5);
    expect(behaviour(loadConfig(example, names))).toEqual(behaviour(loadConfig({}, names)));
  });

  it('configures every module as no .env does (their own variables, read by their settings)', () => {
    const example = parseEnv(text) as Record<string, string>;
    for (const module of moduleCatalogue) {
      expect(module.settings?.(readSettings(example)), module.name).toEqual(
        module.settings?.(readSettings({})),
      );
    }
  });

  it('cites only files of the repository', () => {
    expect(text).not.toMatch(/CONTRACT\.md|DESIGN\.md|\.\.\/shared/);
  });
});
