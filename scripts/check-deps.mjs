#!/usr/bin/env node
// Module boundaries (a module reaches another only through its contracts.ts and the bus, and the
// kernel knows no module, so any subset of modules runs in any process), run by `npm run check:deps`.
//
// 1. Cruises `src` with the rules of `.dependency-cruiser.cjs`; any error-level violation fails.
// 2. Cruises the fixture `test/fixtures/boundaries/src`, which breaks each boundary rule on purpose,
//    and fails unless exactly the expected violations are reported: a rule that cannot fail is a defect.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, format } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CONFIG_FILE = './.dependency-cruiser.cjs';
const FIXTURE = 'test/fixtures/boundaries/src';

/** The violations the fixture must produce: `rule: from -> to`, paths relative to the fixture. */
const EXPECTED_FIXTURE_VIOLATIONS = [
  'module-talks-to-others-via-contracts-only: modules/alpha/index.ts -> modules/beta/schema.ts',
  'module-uses-kernel-index-only: modules/alpha/index.ts -> kernel/messaging/bus.ts',
  'kernel-knows-no-module: kernel/messaging/bus.ts -> modules/beta/contracts.ts',
  'nothing-below-imports-the-app: kernel/host/create-host.ts -> app.ts',
  'nothing-below-imports-the-app: modules/alpha/alpha.e2e.spec.ts -> app.ts',
];

process.chdir(ROOT);

async function run(targets) {
  const options = await extractDepcruiseOptions(CONFIG_FILE);
  const tsConfigFile = options.ruleSet?.options?.tsConfig?.fileName;
  const tsConfig = tsConfigFile ? extractTSConfig(tsConfigFile) : undefined;
  const { output } = await cruise(targets, options, {}, { tsConfig });
  const result = typeof output === 'string' ? JSON.parse(output) : output;
  const violations = result.summary.violations ?? [];
  return {
    result,
    // files of the cruised tree itself (not the npm packages and node: builtins it imports)
    modules: result.modules.filter((m) => targets.some((t) => m.source.startsWith(`${t}/`))).length,
    errors: violations.filter((v) => v.rule.severity === 'error'),
    warnings: violations.filter((v) => v.rule.severity === 'warn'),
  };
}

async function report(result) {
  const { output } = await format(result, { outputType: 'err-long' });
  process.stdout.write(output);
}

const key = (v, prefix) => `${v.rule.name}: ${v.from.slice(prefix.length)} -> ${v.to.slice(prefix.length)}`;

async function checkSrc() {
  if (!existsSync('src')) {
    console.error('src: directory missing');
    return false;
  }
  const { result, modules, errors, warnings } = await run(['src']);
  if (errors.length > 0 || warnings.length > 0) await report(result);
  const tail = warnings.length > 0 ? `, ${warnings.length} warning(s)` : '';
  console.log(`src: ${modules} modules, ${errors.length} violations${tail}`);
  return errors.length === 0;
}

async function checkFixture() {
  if (!existsSync(FIXTURE)) {
    console.error(`fixture: ${FIXTURE} missing; boundary rules cannot be shown to fail`);
    return false;
  }
  const { result, errors } = await run([FIXTURE]);
  if (errors.length === 0) {
    console.error('boundary rules cannot fail: fixture passed');
    return false;
  }
  const found = new Set(errors.map((v) => key(v, `${FIXTURE}/`)));
  const missing = EXPECTED_FIXTURE_VIOLATIONS.filter((k) => !found.has(k));
  const unexpected = [...found].filter((k) => !EXPECTED_FIXTURE_VIOLATIONS.includes(k));
  if (missing.length > 0 || unexpected.length > 0) {
    await report(result);
    for (const k of missing) console.error(`fixture: expected violation not reported: ${k}`);
    for (const k of unexpected) console.error(`fixture: unexpected violation (rule too broad?): ${k}`);
    return false;
  }
  console.log(`fixture: forbidden imports detected as expected (${errors.length})`);
  for (const k of [...found].sort()) console.log(`  - ${k}`);
  return true;
}

try {
  const srcOk = await checkSrc();
  const fixtureOk = await checkFixture();
  process.exitCode = srcOk && fixtureOk ? 0 : 1;
} catch (error) {
  console.error(`check-deps: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
}
