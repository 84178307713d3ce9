import { accessSync, constants } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { describeNeeding } from './describe-needing.js';

/**
 * Browser tests drive Debian's chromium (`apt-get install chromium`; `.ci/run` installs it) through
 * playwright-core, which downloads no browser of its own. CHROMIUM_PATH points elsewhere. Not
 * exported from testing/index.ts, so the other specs do not load playwright-core.
 */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why browser tests cannot run here, or undefined when chromium is installed. */
export function chromiumSkipReason(): string | undefined {
  try {
    accessSync(chromiumPath, constants.X_OK);
    return undefined;
  } catch {
    return `no chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`;
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, headless: true });
}

/**
 * `describe` for tests that need a browser: skipped with a printed reason when chromium is
 * missing, and a failing test instead under REQUIRE_BROKERS=1 (CI must run them, as it must run
 * the broker tests).
 */
export function describeWithBrowser(title: string, fn: () => void): void {
  describeNeeding('chromium', chromiumSkipReason(), title, fn);
}
