import { randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashPassword, needsRehash, verifyNothing, verifyPassword } from './password.js';

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
});
