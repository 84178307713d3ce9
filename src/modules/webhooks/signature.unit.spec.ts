import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecret, signWebhook } from './signature.js';

describe('webhook signatures', () => {
  it("reproduces the Standard Webhooks specification's test vector", () => {
    const signature = signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', {
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      timestampSeconds: 1614265330,
      body: '{"test": 2432232314}',
    });
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('changes with the body, the id, the timestamp and the secret', () => {
    const secret = createSecret();
    const content = { id: 'd1', timestampSeconds: 1_700_000_000, body: '{"a":1}' };
    const base = signWebhook(secret, content);
    expect(signWebhook(secret, { ...content, body: '{"a":2}' })).not.toBe(base);
    expect(signWebhook(secret, { ...content, id: 'd2' })).not.toBe(base);
    expect(signWebhook(secret, { ...content, timestampSeconds: 1_700_000_001 })).not.toBe(base);
    expect(signWebhook(createSecret(), content)).not.toBe(base);
  });

  it('makes secrets of 32 random bytes, whsec_ and base64, that verify with a plain HMAC', () => {
    const secret = createSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(createSecret()).not.toBe(secret);
    const key = Buffer.from(secret.slice(6), 'base64');
    const expected = createHmac('sha256', key).update('id.1.body').digest('base64');
    expect(signWebhook(secret, { id: 'id', timestampSeconds: 1, body: 'body' })).toBe(`v1,${expected}`);
  });
});
