import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './paths.js';

export interface PackageInfo {
  readonly name: string;
  readonly version: string;
  readonly description: string;
}

/**
 * Name, version and description from package.json, read once: the documents this process serves
 * (/asyncapi.json, the admin dashboard) name the build they describe without a second copy of the
 * version to forget. package.json ships next to dist/ (see the Dockerfile), so this works from both.
 */
export const packageInfo: PackageInfo = (() => {
  const raw: unknown = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8'));
  const fields = (raw ?? {}) as Partial<Record<keyof PackageInfo, unknown>>;
  const text = (value: unknown, fallback: string) => (typeof value === 'string' ? value : fallback);
  return {
    name: text(fields.name, 'modulith'),
    version: text(fields.version, '0.0.0'),
    description: text(fields.description, ''),
  };
})();
