#!/usr/bin/env node
// Module code runs on SQLite or PostgreSQL unchanged (issue 16), so it may use only drizzle's
// asynchronous subset: `await` a builder (rows), `preparedOnce(db, build)` for a query prepared
// once (`.one/.many/.exec`, all async). drizzle's synchronous SQLite API does not exist on the
// node-postgres handle and fails there at run time only; this check, run by `npm run check`,
// refuses it in `src/modules/**/*.ts` (specs excepted: they run on SQLite and may read it
// synchronously). It reads the syntax only (no type checker: that would cost another typecheck):
//
//   1. `.get()`, `.all()`, `.run()` without arguments: a builder's synchronous terminal call. The
//      neutral prepared statement's methods are named `one/many/exec` so that none of its calls
//      looks like these.
//   2. `.values()` without arguments on a call's result (the end of a builder chain); a Map's
//      `.values()` (on a variable or a property) and an insert's `.values(rows)` are not matched.
//   3. `db.run|all|get|values(…)` and `<x>.db.run|all|get|values(…)`: raw SQL on the session, as
//      well as any of these four with a sql`…` template argument.
//   4. `.prepare(…)`: a drizzle prepared query has synchronous methods on SQLite; modules hand the
//      builder to `preparedOnce`, which prepares it for the handle's backend.
//
// A call that must stay synchronous says why on its line or the line above with a comment
// containing `sync-sqlite-only` (see orders' onOwnFlowMessageStaged). A sample with known
// violations is checked first: a rule that cannot fail is a defect.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MODULES = join(ROOT, 'src/modules');
const ALLOW = 'sync-sqlite-only';
const TERMINALS = new Set(['get', 'all', 'run', 'values']);

/** The synchronous query calls of one source file: `{ line, text, rule }`, line 1-based. */
export function findSyncQueries(source, fileName = 'module.ts') {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const lines = source.split('\n');
  const found = [];
  const isDb = (node) =>
    (ts.isIdentifier(node) && node.text === 'db') ||
    (ts.isPropertyAccessExpression(node) && node.name.text === 'db');
  const isSqlTemplate = (node) =>
    node !== undefined && ts.isTaggedTemplateExpression(node) && node.tag.getText(file) === 'sql';
  const ruleOf = (call) => {
    const callee = call.expression;
    if (!ts.isPropertyAccessExpression(callee)) return undefined;
    const name = callee.name.text;
    const receiver = callee.expression;
    const args = call.arguments;
    if (name === 'prepare') return 'prepare';
    if (!TERMINALS.has(name)) return undefined;
    if (isDb(receiver)) return 'raw-sql';
    if (isSqlTemplate(args[0])) return 'raw-sql';
    if (args.length > 0) return undefined;
    if (name !== 'values') return 'sync-terminal';
    return ts.isCallExpression(receiver) ? 'sync-terminal' : undefined;
  };
  const visit = (node) => {
    if (ts.isCallExpression(node)) {
      const rule = ruleOf(node);
      if (rule) {
        const at = node.expression.name.getStart(file);
        const line = file.getLineAndCharacterOfPosition(at).line;
        const allowed = [lines[line], lines[line - 1]].some((text) => text?.includes(ALLOW));
        if (!allowed) found.push({ line: line + 1, text: lines[line].trim(), rule });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** Every line of SAMPLE marked `// !` must be found, and nothing else. */
const SAMPLE = `
const a = db.select().from(t).where(eq(t.id, id)).get(); // !
const b = tx.db.select().from(t).all(); // !
tx.db.insert(t).values(row).run(); // !
const c = db.select().from(t).values(); // !
const q = db.select().from(t);
for (const row of q.all()) use(row); // !
tx.db.run(sql\`DELETE FROM t\`); // !
ctx.db.all(sql\`SELECT 1\`); // !
db.get(query); // !
session.all(sql\`SELECT 1\`); // !
const p = db.select().from(t).prepare(); // !
const rows = await db.select().from(t);
await tx.db.insert(t).values(rows).onConflictDoNothing();
const row = await preparedOnce(db, build).one({ id });
await preparedOnce(db, build).exec();
headers.get('x'); map.get(key); [...map.values()]; this.#docs.values(); Object.values(x);
await Promise.all(work); await Promise.allSettled(inFlight.values());
insert.run(row); // sync-sqlite-only: a marked exception
`;

function selfTest() {
  const expected = SAMPLE.split('\n')
    .map((text, i) => (text.includes('// !') ? i + 1 : undefined))
    .filter((line) => line !== undefined);
  const actual = findSyncQueries(SAMPLE).map((f) => f.line);
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    console.error(`check:queries self-test: expected lines ${expected}, found ${actual}`);
    process.exit(2);
  }
}

function moduleFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return moduleFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  selfTest();
  const files = moduleFiles(MODULES);
  const violations = files.flatMap((path) =>
    findSyncQueries(readFileSync(path, 'utf8'), path).map(
      (f) => `${relative(ROOT, path)}:${f.line} ${f.rule}: ${f.text}`,
    ),
  );
  if (violations.length > 0) {
    console.error(
      `Synchronous SQLite-only query calls in module code (await the builder, or use preparedOnce):\n  ${violations.join('\n  ')}`,
    );
    process.exit(1);
  }
  console.log(`check:queries: ${files.length} module files use the asynchronous query API only`);
}
