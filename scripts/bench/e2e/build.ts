/**
 * The e2e children run plain JavaScript, as `npm start` does: the tsx loader alone adds ~40 MB of
 * RSS, which the memory rows must not count. TypeScript's `transpileModule` (no type check, like
 * tsx) writes src/ and the bench's child entries into a temporary directory whose node_modules and
 * migrations are links to the project's.
 */
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { PROJECT_ROOT } from '../lib/options.js';

const SOURCES = ['src', 'scripts/bench/e2e'];

function typescriptFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return typescriptFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

export interface Build {
  readonly dir: string;
  /** The built JavaScript of a project file (`scripts/bench/e2e/server.ts` → …/server.js). */
  entry(projectPath: string): string;
  remove(): void;
}

export function buildChildren(): Build {
  const dir = mkdtempSync(join(tmpdir(), 'modulith-bench-build-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'modulith-bench-build', type: 'module' }));
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  symlinkSync(join(PROJECT_ROOT, 'migrations'), join(dir, 'migrations'), 'dir');
  const compilerOptions: ts.CompilerOptions = {
    module: ts.ModuleKind.ESNext,
    target: ts.ScriptTarget.ES2023,
    verbatimModuleSyntax: true,
    sourceMap: false,
  };
  for (const file of SOURCES.flatMap((source) => typescriptFiles(join(PROJECT_ROOT, source)))) {
    const output = join(dir, relative(PROJECT_ROOT, file)).replace(/\.ts$/, '.js');
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions,
      fileName: file,
    });
    mkdirSync(dirname(output), { recursive: true });
    writeFileSync(output, outputText);
  }
  return {
    dir,
    entry: (projectPath) => join(dir, projectPath.replace(/\.ts$/, '.js')),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
