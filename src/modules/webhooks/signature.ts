import { createHmac, randomBytes } from 'node:crypto';

/**
 * Signatures as the Standard Webhooks specification (standardwebhooks.com) defines them, so a
 * receiver can verify deliveries with any of its libraries: the secret is `whsec_<base64 key>`;
 * the signed content is `<webhook-id>.<webhook-timestamp>.<body>`; the `webhook-signature` header
 * is `v1,<base64 HMAC-SHA256>`. The timestamp inside the signature lets receivers refuse replays.
 */

const SECRET_PREFIX = 'whsec_';

/** A new subscription secret: 32 random bytes. */
export function createSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

export interface SignedContent {
  /** The `webhook-id` header: the same on every attempt of one delivery. */
  readonly id: string;
  /** The `webhook-timestamp` header, in seconds since the epoch. */
  readonly timestampSeconds: number;
  /** The exact bytes of the request body. */
  readonly body: string;
}

/** The `webhook-signature` header value for this content. */
export function signWebhook(secret: string, content: SignedContent): string {
  const key = Buffer.from(
    secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret,
    'base64',
  );
  const signed = `${content.id}.${content.timestampSeconds}.${content.body}`;
  return `v1,${createHmac('sha256', key).update(signed).digest('base64')}`;
}
