import { createHash } from 'node:crypto';
import { HttpProblem, type RateCounters, type WindowCount } from '../../kernel/index.js';
import type { VerificationGuard } from './password.js';
import { normalizeEmail } from './queries.js';
import type { LoginLimits, RegisterLimits } from './settings.js';

/**
 * The sign-in and sign-up budgets, counted in the kernel's rate counters (the rate-limit store:
 * Redis, shared by every instance, on a split deployment).
 *
 * Login counts failures, not requests: an office behind one address, or a load test, signs in as
 * often as it likes, while guessing is held to a few passwords per account and address, more per
 * account from any address, and a higher ceiling per address over every account (one password
 * sprayed across accounts). A wrong password, or an unknown email, counts in all three; a success
 * counts in none, and starts its (account, address) count afresh. Nothing that does not compare
 * a password counts: a 503 when hashing is full, a 429, any failure of the server.
 *
 * The budgets are checked when the attempt arrives, and again when its derivation has its turn,
 * its failure counted before the derivation goes to the next in line (VerificationGuard): guesses
 * sent together, which all found the budget unspent while they queued, stop once those before
 * them have spent it. Past a budget, at most one more guess per other derivation running at once
 * (one per instance).
 *
 * Sign-up counts every attempt with a valid body per address (201, and 409 as well: it tells
 * whether an address has an account), up front, so that concurrent ones cannot overdraw it; the
 * server's own failures (503 when the sign-up lane is full) are taken back.
 *
 * A spent budget answers 429 problem+json HTTP_RATE_LIMITED with `retry-after`, the seconds until
 * its window ends, before any hashing and whatever the password.
 */
export interface AttemptLimits {
  /** Runs `attempt` within the login budgets; it passes `guard` on to the password verification. */
  login<T>(client: string, email: string, attempt: (guard: VerificationGuard) => Promise<T>): Promise<T>;
  register<T>(client: string, attempt: () => Promise<T>): Promise<T>;
}

interface Budget {
  readonly key: string;
  readonly max: number;
  readonly windowMs: number;
  /** Whose budget, in a 429's detail. */
  readonly whose: string;
}

export function attemptLimits(
  counters: RateCounters,
  limits: { readonly login: LoginLimits; readonly register: RegisterLimits },
): AttemptLimits {
  return {
    async login(client, email, attempt) {
      const { perAccountAndClient, perAccount, perClient, windowMs } = limits.login;
      const account = accountKey(email);
      const budget = (key: string, max: number, whose: string): Budget => ({ key, max, windowMs, whose });
      const pair = budget(
        `login:account-ip:${account}:${client}`,
        perAccountAndClient,
        'for this account from this address',
      );
      const budgets = [
        pair,
        budget(`login:account:${account}`, perAccount, 'for this account'),
        budget(`login:ip:${client}`, perClient, 'from this address'),
      ];
      const check = async () => {
        const counts = await Promise.all(budgets.map((b) => counters.peek(b.key)));
        refuseSpent(budgets, counts, 'too many failed sign-ins');
      };
      const countFailure = async (matched: boolean) => {
        if (!matched) await Promise.all(budgets.map((b) => counters.add(b.key, b.windowMs)));
      };
      await check(); // before queueing for a derivation: a spent budget costs no hashing
      const result = await attempt({ before: check, after: countFailure });
      await counters.clear(pair.key); // the user got it right: their earlier slips are forgiven
      return result;
    },

    async register(client, attempt) {
      const { perClient, windowMs } = limits.register;
      const key = `register:ip:${client}`;
      const counted = await counters.add(key, windowMs);
      if (counted.count > perClient) {
        await counters.takeBack(key); // refused: it did not happen
        throw rateLimited('too many sign-ups from this address', counted.resetInMs);
      }
      return attempt().catch(async (error: unknown) => {
        const servers = !(error instanceof HttpProblem) || error.status >= 500;
        if (servers) await counters.takeBack(key);
        throw error;
      });
    },
  };
}

/** Throws 429 when a budget's count has reached its max; retry-after when the last spent one ends. */
function refuseSpent(budgets: readonly Budget[], counts: readonly WindowCount[], what: string): void {
  const spent = budgets.flatMap((budget, i) => {
    const count = counts[i];
    return count && count.count >= budget.max ? [{ budget, resetInMs: count.resetInMs }] : [];
  });
  const [first] = spent;
  if (!first) return;
  throw rateLimited(`${what} ${first.budget.whose}`, Math.max(...spent.map((s) => s.resetInMs)));
}

function rateLimited(detail: string, resetInMs: number): HttpProblem {
  const seconds = Math.max(1, Math.ceil(resetInMs / 1000));
  return new HttpProblem(429, 'HTTP_RATE_LIMITED', `${detail}; retry in ${seconds} s`, {
    retryAfterSeconds: seconds,
  });
}

/** The account as a key: a digest of the email (compared lower-cased), so no address sits in the store. */
function accountKey(email: string): string {
  return createHash('sha256').update(normalizeEmail(email)).digest('base64url').slice(0, 22);
}
