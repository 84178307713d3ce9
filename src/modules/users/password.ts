import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import { BulkheadRejectedError, bulkhead } from 'cockatiel';
import { HttpProblem } from '../../kernel/index.js';

/**
 * Password hashing with node:crypto scrypt at OWASP's cost (N=2^17, r=8, p=1), a random 16-byte
 * salt and a 32-byte key, stored as a self-describing PHC-style string
 * `$scrypt$ln=17,r=8,p=1$<salt base64>$<key base64>`, so the cost can be raised later and old
 * hashes still verify (and are upgraded on the next successful login).
 */

interface Params {
  readonly ln: number;
  readonly r: number;
  readonly p: number;
}

const CURRENT: Params = { ln: 17, r: 8, p: 1 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** 128 * N * r * p bytes are needed (128 MiB at N=2^17, r=8); leave headroom. */
const MAX_MEMORY = 256 * 1024 * 1024;
const FORMAT =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/**
 * Derivations running at once in a process. Each one holds 128 MiB while it runs: four at once
 * (the libuv pool's size) took the process 512 MiB past its usual size, and left no pool thread
 * for file and DNS work.
 */
export const DERIVATIONS_AT_ONCE = 2;
/**
 * Sign-ups take at most one of those at once, so a flood of them (anonymous, each one a new
 * hash) always leaves a derivation to sign-ins: a login is never starved by sign-ups.
 */
export const SIGN_UPS_AT_ONCE = 1;

/** How many derivations may wait, per lane (USERS_LOGIN_HASH_QUEUE, USERS_REGISTER_HASH_QUEUE). */
export interface HashingQueues {
  readonly signIn: number;
  readonly signUp: number;
}

/**
 * What a sign-in's budgets do around its verification, while it holds its derivation: `before`
 * when the derivation has its turn (what it throws is thrown instead of deriving), `after` with
 * the comparison's outcome, before the derivation goes to the next in line. So guesses queued up
 * together, which all found the budget unspent when they arrived, are each checked again in turn
 * against the failures of those before them.
 */
export interface VerificationGuard {
  before(): Promise<void>;
  after(matched: boolean): Promise<void>;
}

/** Hashing and verification through one lane's bounded queue. */
export interface PasswordHashing {
  /** A new self-describing hash of `password`, salted. */
  hash(password: string): Promise<string>;
  /** Constant-time comparison of the derived key; false for a malformed stored hash. */
  verify(password: string, stored: string, guard?: VerificationGuard): Promise<boolean>;
  /**
   * Spends the same work as a real verification and answers false: used for unknown emails, so
   * that the answer time does not tell whether an account exists.
   */
  verifyNothing(password: string, guard?: VerificationGuard): Promise<false>;
}

/**
 * The two lanes to the derivations: sign-ins (login, and the admin seed at start) and sign-ups.
 * Past its lane's queue a derivation is refused at once (503 USERS_BUSY, retry-after): a burst
 * waits its turn, a flood is turned away, and a flood in one lane never fills the other's queue.
 */
export interface HashingLanes {
  readonly signIn: PasswordHashing;
  readonly signUp: PasswordHashing;
}

export function hashingLanes(queues: HashingQueues): HashingLanes {
  // The lanes let at most DERIVATIONS_AT_ONCE sign-ins and SIGN_UPS_AT_ONCE sign-ups in, so at
  // most SIGN_UPS_AT_ONCE of them wait here, in arrival order.
  const derivations = bulkhead(DERIVATIONS_AT_ONCE, SIGN_UPS_AT_ONCE);
  const lane = (atOnce: number, queued: number, what: string): PasswordHashing => {
    const entry = bulkhead(atOnce, queued);
    return hashingThrough(async (work) => {
      try {
        return await entry.execute(() => derivations.execute(work));
      } catch (error) {
        if (!(error instanceof BulkheadRejectedError)) throw error;
        throw new HttpProblem(503, 'USERS_BUSY', `too many ${what} at once; try again shortly`, {
          retryAfterSeconds: 1,
        });
      }
    });
  };
  return {
    signIn: lane(DERIVATIONS_AT_ONCE, queues.signIn, 'sign-ins'),
    signUp: lane(SIGN_UPS_AT_ONCE, queues.signUp, 'sign-ups'),
  };
}

type Lane = <T>(work: () => Promise<T>) => Promise<T>;

function hashingThrough(lane: Lane): PasswordHashing {
  const derive = (password: string, salt: Buffer, params: Params, keyLength: number): Promise<Buffer> => {
    const options: ScryptOptions = { N: 2 ** params.ln, r: params.r, p: params.p, maxmem: MAX_MEMORY };
    return new Promise<Buffer>((resolve, reject) => {
      // Async: runs on the libuv thread pool, never on the event loop.
      scrypt(password.normalize('NFC'), salt, keyLength, options, (error, key) =>
        error ? reject(error) : resolve(key),
      );
    });
  };
  /** Derives and compares in one turn of the lane, with the guard's checks around it. */
  const compare = (password: string, parsed: Parsed, guard: VerificationGuard | undefined) =>
    lane(async () => {
      await guard?.before();
      const key = await derive(password, parsed.salt, parsed, parsed.key.length);
      const matched = timingSafeEqual(key, parsed.key);
      await guard?.after(matched);
      return matched;
    });
  return {
    hash: async (password) => {
      const salt = randomBytes(SALT_BYTES);
      const key = await lane(() => derive(password, salt, CURRENT, KEY_BYTES));
      return `$scrypt$ln=${CURRENT.ln},r=${CURRENT.r},p=${CURRENT.p}$${b64(salt)}$${b64(key)}`;
    },
    verify: async (password, stored, guard) => {
      const parsed = parse(stored);
      if (!parsed || parsed.key.length === 0) return false;
      return compare(password, parsed, guard);
    },
    verifyNothing: async (password, guard) => {
      // a key of the right length that no password derives to (random salt, key all zeros)
      await compare(
        password,
        { ...CURRENT, salt: randomBytes(SALT_BYTES), key: Buffer.alloc(KEY_BYTES) },
        guard,
      );
      return false;
    },
  };
}

const b64 = (buffer: Buffer) => buffer.toString('base64').replace(/=+$/, '');

interface Parsed extends Params {
  readonly salt: Buffer;
  readonly key: Buffer;
}

function parse(stored: string): Parsed | undefined {
  const match = FORMAT.exec(stored);
  if (!match) return undefined;
  const [, ln, r, p, salt, key] = match;
  return {
    ln: Number(ln),
    r: Number(r),
    p: Number(p),
    salt: Buffer.from(salt ?? '', 'base64'),
    key: Buffer.from(key ?? '', 'base64'),
  };
}

/** True when the stored hash was made with other parameters than the current ones. */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  return !parsed || parsed.ln !== CURRENT.ln || parsed.r !== CURRENT.r || parsed.p !== CURRENT.p;
}
