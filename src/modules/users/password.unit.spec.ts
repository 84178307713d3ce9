import { randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DERIVATIONS_AT_ONCE,
  DERIVATIONS_QUEUED,
  hashPassword,
  needsRehash,
  verifyNothing,
  verifyPassword,
} from './password.js';

/** A stored hash at a tiny cost (N=2^4), so a test can run many verifications. */
function cheapHash(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password, salt, 32, { N: 2 ** 4, r: 8, p: 1 });
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=4,r=8,p=1$${b64(salt)}$${b64(key)}`;
}

describe('password hashing (scrypt)', () => {
  it('makes a self-describing hash at N=2^17, r=8, p=1 with a 16-byte salt, that verifies', async () => {
    const hash = await hashPassword('correct horse battery');
    const [, scheme, params, salt = '', key = ''] = hash.split('$');
    expect([scheme, params]).toEqual(['scrypt', 'ln=17,r=8,p=1']);
    expect(Buffer.from(salt, 'base64')).toHaveLength(16);
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    // the stored key is exactly scrypt(password, salt) at that cost
    const expected = scryptSync('correct horse battery', Buffer.from(salt, 'base64'), 32, {
      N: 2 ** 17,
      r: 8,
      p: 1,
      maxmem: 256 * 1024 * 1024,
    });
    expect(Buffer.from(key, 'base64').equals(expected)).toBe(true);
    expect(await verifyPassword('correct horse battery', hash)).toBe(true);
    expect(await verifyPassword('correct horse batterY', hash)).toBe(false);
    expect(needsRehash(hash)).toBe(false);
  });

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([hashPassword('same password'), hashPassword('same password')]);
    expect(a).not.toBe(b);
  });

  it('verifies an older, cheaper hash and asks for a rehash; refuses malformed hashes', async () => {
    const salt = randomBytes(16);
    const key = scryptSync('old password', salt, 32, { N: 2 ** 14, r: 8, p: 1 });
    const old = `$scrypt$ln=14,r=8,p=1$${salt.toString('base64')}$${key.toString('base64')}`;
    expect(await verifyPassword('old password', old)).toBe(true);
    expect(needsRehash(old)).toBe(true);
    expect(await verifyPassword('old password', 'plaintext')).toBe(false);
    expect(await verifyPassword('old password', '$scrypt$ln=14,r=8,p=1$$')).toBe(false);
    expect(needsRehash('plaintext')).toBe(true);
  });

  it('spends a verification’s work on an unknown account and says no', async () => {
    expect(await verifyNothing('anything at all')).toBe(false);
  });

  it('derives two keys at once at most: six at once take the memory of two derivations, not four', async () => {
    const before = process.memoryUsage.rss();
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 5);
    try {
      await Promise.all(Array.from({ length: 6 }, () => hashPassword('many at once')));
    } finally {
      clearInterval(sampler);
    }
    const grownMiB = (peak - before) / 2 ** 20;
    // 128 MiB per running derivation: two make ≈ 256 MiB, four (the thread pool) ≈ 512 MiB
    expect(grownMiB).toBeGreaterThan(100);
    expect(grownMiB).toBeLessThan(128 * DERIVATIONS_AT_ONCE + 100);
  });

  it('refuses a derivation past the queue with 503 USERS_BUSY and retry-after, then takes them again', async () => {
    const stored = cheapHash('queued');
    const capacity = DERIVATIONS_AT_ONCE + DERIVATIONS_QUEUED;
    const accepted = Array.from({ length: capacity }, () => verifyPassword('queued', stored));
    await expect(verifyPassword('queued', stored)).rejects.toMatchObject({
      status: 503,
      code: 'USERS_BUSY',
      retryAfterSeconds: 1,
    });
    expect(await Promise.all(accepted)).toEqual(Array.from({ length: capacity }, () => true));
    expect(await verifyPassword('queued', stored)).toBe(true);
  });
});
