/**
 * Every problem code the source answers with is described at /docs/errors (where each problem's
 * `type` points): a module's codes (`<MODULE>_…`) in its definition's `errors`, the kernel's
 * (`HTTP_…`, `AUTH_…`, `ADMIN_…`, `BUS_…`) in KERNEL_ERRORS. The codes are read from the source
 * files as they are written (`new HttpProblem(<status>, 'CODE'`, `code: 'CODE'`,
 * `…Error('CODE'`), so a new code without a description fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { moduleCatalogue } from '../../src/app.js';
import { documentedErrors, KERNEL_ERRORS } from '../../src/kernel/http/error-docs.js';

const ROOT = join(import.meta.dirname, '../..');
const CODE = /(?:HttpProblem\(\s*\d{3},\s*|code: |(?<!Config)Error\(\s*)'([A-Z][A-Z0-9]*_[A-Z0-9_]+)'/g;
const KERNEL_PREFIXES = ['HTTP', 'AUTH', 'ADMIN', 'BUS'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** Each problem code found in the source, with the first file that uses it. */
function codesInSource(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    for (const [, code] of readFileSync(file, 'utf8').matchAll(CODE)) {
      if (code && !found.has(code)) found.set(code, relative(ROOT, file));
    }
  }
  return found;
}

describe('error codes', () => {
  const modules = new Map(moduleCatalogue.map((module) => [module.name.toUpperCase(), module]));
  const problemCodes = [...codesInSource()].filter(([code]) => {
    const prefix = code.split('_')[0] ?? '';
    return KERNEL_PREFIXES.includes(prefix) || modules.has(prefix);
  });

  it('finds the codes it is about (the scan itself works)', () => {
    const codes = problemCodes.map(([code]) => code);
    expect(codes).toEqual(
      expect.arrayContaining(['ORDERS_UNKNOWN_SKU', 'HTTP_VALIDATION', 'WEBHOOKS_PRIVATE_TARGET']),
    );
  });

  it('describes every code where its type points: the kernel or the module that owns it', () => {
    const undocumented = problemCodes
      .filter(([code]) => {
        const prefix = code.split('_')[0] ?? '';
        const module = modules.get(prefix);
        return module ? !module.errors?.[code] : !KERNEL_ERRORS[code];
      })
      .map(([code, file]) => `${code} (${file})`);
    expect(undocumented).toEqual([]);
  });

  it('describes no code twice', () => {
    const codes = documentedErrors(moduleCatalogue).map((error) => error.code);
    expect(codes.length).toBe(new Set(codes).size);
  });
});
