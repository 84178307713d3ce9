import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('module boundaries (npm run check:deps)', () => {
  it('passes on src and proves each rule fails on the bad-import fixture', () => {
    const run = spawnSync(process.execPath, ['scripts/check-deps.mjs'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const output = `${run.stdout}${run.stderr}`;

    expect(run.error, output).toBeUndefined();
    expect(run.status, output).toBe(0);
    expect(output).toMatch(/^src: \d+ modules, 0 violations/m);
    expect(output).toContain('fixture: forbidden imports detected as expected (5)');
    expect(output).toContain(
      'module-talks-to-others-via-contracts-only: modules/alpha/index.ts -> modules/beta/schema.ts',
    );
    expect(output).toContain(
      'module-uses-kernel-index-only: modules/alpha/index.ts -> kernel/messaging/bus.ts',
    );
    expect(output).toContain('kernel-knows-no-module: kernel/messaging/bus.ts -> modules/beta/contracts.ts');
    expect(output).toContain('nothing-below-imports-the-app: kernel/host/create-host.ts -> app.ts');
    expect(output).toContain('nothing-below-imports-the-app: modules/alpha/alpha.e2e.spec.ts -> app.ts');
    expect(output).not.toContain('boundary rules cannot fail');
  }, 120_000);
});
