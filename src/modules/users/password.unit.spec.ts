import { randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DERIVATIONS_AT_ONCE, hashingLanes, needsRehash, SIGN_UPS_AT_ONCE } from './password.js';
import { cheapHash } from './testing/cheap-hash.js';

describe('password hashing (scrypt)', () => {
  const lanes = hashingLanes({ signIn: 100, signUp: 10 });
  const { hash: hashPassword, verify: verifyPassword, verifyNothing } = lanes.signIn;

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

  it('derives two keys at once at most, over both lanes: six at once take the memory of two derivations, not four', async () => {
    const before = process.memoryUsage.rss();
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 5);
    try {
      await Promise.all(
        [lanes.signIn, lanes.signUp].flatMap((lane) =>
          Array.from({ length: 3 }, () => lane.hash('many at once')),
        ),
      );
    } finally {
      clearInterval(sampler);
    }
    const grownMiB = (peak - before) / 2 ** 20;
    // 128 MiB per running derivation: two make ≈ 256 MiB, four (the thread pool) ≈ 512 MiB
    expect(grownMiB).toBeGreaterThan(100);
    expect(grownMiB).toBeLessThan(128 * DERIVATIONS_AT_ONCE + 100);
  });

  it.each([
    ['sign-ins', 'signIn', DERIVATIONS_AT_ONCE],
    ['sign-ups', 'signUp', SIGN_UPS_AT_ONCE],
  ] as const)(
    'refuses %s past their own queue with 503 USERS_BUSY and retry-after, then takes them again',
    async (what, lane, atOnce) => {
      const queued = 3;
      const { verify } = hashingLanes({ signIn: queued, signUp: queued })[lane];
      const stored = cheapHash('queued');
      const accepted = Array.from({ length: atOnce + queued }, () => verify('queued', stored));
      await expect(verify('queued', stored)).rejects.toMatchObject({
        status: 503,
        code: 'USERS_BUSY',
        message: `too many ${what} at once; try again shortly`,
        retryAfterSeconds: 1,
      });
      expect(await Promise.all(accepted)).toEqual(accepted.map(() => true));
      expect(await verify('queued', stored)).toBe(true);
    },
  );

  it('keeps a derivation for sign-ins while sign-ups fill their lane: a sign-in neither waits behind them nor is refused', async () => {
    const { signIn, signUp } = hashingLanes({ signIn: 0, signUp: 8 });
    const stored = cheapHash('lanes', 12);
    let signUpsDone = 0;
    const signUps = Array.from({ length: SIGN_UPS_AT_ONCE + 8 }, () =>
      signUp.verify('lanes', stored).then(() => signUpsDone++),
    );
    await expect(signUp.verify('lanes', stored)).rejects.toMatchObject({ code: 'USERS_BUSY' });
    // no sign-in queue at all (0): it is taken only because a derivation is free for it
    expect(await signIn.verify('lanes', stored)).toBe(true);
    const doneWhenSignedIn = signUpsDone;
    await Promise.all(signUps);
    // it ran beside the first sign-up, not after the nine queued
    expect(doneWhenSignedIn).toBeLessThanOrEqual(SIGN_UPS_AT_ONCE + 1);
  });
});
