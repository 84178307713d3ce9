import { randomBytes, scryptSync } from 'node:crypto';

/**
 * A stored hash of `password` at a small cost (N=2^ln, default 2^4), in the format password.ts
 * verifies (an older, cheaper cost it still accepts): a spec can verify many wrong passwords
 * against it without spending a full derivation on each. ln=17 is the current, full cost.
 */
export function cheapHash(password: string, ln = 4): string {
  const salt = randomBytes(16);
  const key = scryptSync(password, salt, 32, { N: 2 ** ln, r: 8, p: 1, maxmem: 256 * 2 ** ln * 8 });
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${ln},r=8,p=1$${b64(salt)}$${b64(key)}`;
}
