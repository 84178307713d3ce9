/**
 * Module boundaries, checked by `npm run check:deps` (scripts/check-deps.mjs): a module reaches
 * another only through its contracts.ts (data) and the bus, and the kernel only through its index;
 * the kernel knows no module. So a module never depends on where its peers run, and any subset of
 * modules runs in any process.
 *
 * Paths are matched with `(?:^|/)src/...` so that the same rules apply to the real tree (`src/...`)
 * and to the fixture that proves they can fail (`test/fixtures/boundaries/src/...`).
 *
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'nothing-below-imports-the-app',
      comment:
        'src/app.ts (the module catalogue) is imported by src/main.ts, scripts and app-level tests only. ' +
        'Nothing under src/kernel or src/modules imports it, so arrows run app → host + modules → kernel; ' +
        'a spec runs its module through the host (createHost) with fixtures beside it.',
      severity: 'error',
      from: { path: '(?:^|/)src/(?:kernel|modules)/' },
      to: { path: '(?:^|/)src/app\\.ts$' },
    },
    {
      name: 'kernel-knows-no-module',
      comment: 'src/kernel/ knows no module: it must not import anything under src/modules/.',
      severity: 'error',
      from: { path: '(?:^|/)src/kernel/' },
      to: { path: '(?:^|/)src/modules/' },
    },
    {
      name: 'module-uses-kernel-index-only',
      comment:
        'A module imports the kernel only through src/kernel/index.ts ' +
        '(spec files and test-only code in testing/ folders may also import src/kernel/testing/index.ts).',
      severity: 'error',
      from: { path: '(?:^|/)src/modules/[^/]+/', pathNot: '(?:\\.spec\\.ts$|/testing/)' },
      to: { path: '(?:^|/)src/kernel/', pathNot: '(?:^|/)src/kernel/index\\.ts$' },
    },
    {
      name: 'module-uses-kernel-index-only',
      comment:
        'A module spec file (or test-only code in a testing/ folder) imports the kernel only through ' +
        'src/kernel/index.ts or src/kernel/testing/index.ts.',
      severity: 'error',
      from: { path: ['(?:^|/)src/modules/[^/]+/.*\\.spec\\.ts$', '(?:^|/)src/modules/[^/]+/testing/'] },
      to: {
        path: '(?:^|/)src/kernel/',
        pathNot: '(?:^|/)src/kernel/(?:testing/)?index\\.ts$',
      },
    },
    {
      name: 'module-talks-to-others-via-contracts-only',
      comment:
        "A module imports another module only through that module's contracts.ts " +
        '(message schemas and types: data only).',
      severity: 'error',
      // $1 = the importing module's folder name
      from: { path: '(?:^|/)src/modules/([^/]+)/' },
      to: {
        path: '(?:^|/)src/modules/[^/]+/',
        pathNot: ['(?:^|/)src/modules/$1/', '(?:^|/)src/modules/[^/]+/contracts\\.ts$'],
      },
    },
    {
      name: 'no-circular',
      comment: 'Circular imports make start-up order fragile; break the cycle (types may go to a leaf file).',
      severity: 'warn',
      from: {},
      to: { circular: true },
    },
    // no-orphans: deliberately off (entry points, scripts and spec files are orphans by design).
  ],
  options: {
    doNotFollow: { path: '(?:^|/)node_modules/' },
    exclude: { path: '^(?:dist|coverage)/' },
    moduleSystems: ['es6', 'cjs'],
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
      // NodeNext `./x.js` imports of `./x.ts`: dependency-cruiser falls back to .ts/.tsx/.d.ts by itself.
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
