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
 * Derivations running at once, and waiting. Each one holds 128 MiB while it runs: four at once
 * (the libuv pool's size) took the process 512 MiB past its usual size, and left no pool thread
 * for file and DNS work. Past the queue, a derivation is refused at once (503, retry-after):
 * a burst of sign-ups or sign-ins waits its turn, a flood is turned away.
 */
export const DERIVATIONS_AT_ONCE = 2;
export const DERIVATIONS_QUEUED = 100;
const derivations = bulkhead(DERIVATIONS_AT_ONCE, DERIVATIONS_QUEUED);

const busy = () =>
  new HttpProblem(503, 'USERS_BUSY', 'too many sign-ins and sign-ups at once; try again shortly', {
    retryAfterSeconds: 1,
  });

async function derive(password: string, salt: Buffer, params: Params, keyLength: number): Promise<Buffer> {
  const options: ScryptOptions = { N: 2 ** params.ln, r: params.r, p: params.p, maxmem: MAX_MEMORY };
  try {
    return await derivations.execute(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          // Async: runs on the libuv thread pool, never on the event loop.
          scrypt(password.normalize('NFC'), salt, keyLength, options, (error, key) =>
            error ? reject(error) : resolve(key),
          );
        }),
    );
  } catch (error) {
    throw error instanceof BulkheadRejectedError ? busy() : error;
  }
}

const b64 = (buffer: Buffer) => buffer.toString('base64').replace(/=+$/, '');

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, CURRENT, KEY_BYTES);
  return `$scrypt$ln=${CURRENT.ln},r=${CURRENT.r},p=${CURRENT.p}$${b64(salt)}$${b64(key)}`;
}

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

/** Constant-time comparison of the derived key; false for a malformed stored hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed || parsed.key.length === 0) return false;
  const key = await derive(password, parsed.salt, parsed, parsed.key.length);
  return timingSafeEqual(key, parsed.key);
}

/**
 * Spends the same work as a real verification and answers false: used for unknown emails, so
 * that the answer time does not tell whether an account exists.
 */
export async function verifyNothing(password: string): Promise<false> {
  await derive(password, randomBytes(SALT_BYTES), CURRENT, KEY_BYTES);
  return false;
}

/** True when the stored hash was made with other parameters than the current ones. */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  return !parsed || parsed.ln !== CURRENT.ln || parsed.r !== CURRENT.r || parsed.p !== CURRENT.p;
}
