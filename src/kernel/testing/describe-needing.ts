import { describe, it } from 'vitest';

/**
 * `describe` for specs that need something this machine may lack (a browser, a database server):
 * skipped with a printed reason when `reason` says it is missing, and a failing test instead under
 * REQUIRE_BROKERS=1, since CI must run them as it must run the broker specs.
 */
export function describeNeeding(
  what: string,
  reason: string | undefined,
  title: string,
  fn: () => void,
): void {
  if (reason === undefined) {
    describe(title, fn);
  } else if (process.env.REQUIRE_BROKERS === '1') {
    describe(title, () => {
      it(`needs ${what} (REQUIRE_BROKERS=1)`, () => {
        throw new Error(reason);
      });
    });
  } else {
    console.warn(`[${what}] skipping "${title}": ${reason}`);
    describe.skip(`${title} (skipped: ${reason})`, fn);
  }
}
