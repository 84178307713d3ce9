/**
 * Helpers for module specs: hand-made JWTs (valid and broken ones), a probe module that records
 * the messages it receives, delivering one envelope twice, and waiting until the bus is idle.
 */
import { createHmac } from 'node:crypto';
import { expect } from 'vitest';
import { collectPages, pagePath } from '../../src/kernel/http/pagination.js';
import {
  type AnyMessageDefinition,
  defineModule,
  type Envelope,
  type HttpApp,
  type Kernel,
  type MessageDraft,
  type ModuleDefinition,
  on,
  type Page,
} from '../../src/kernel/index.js';
import { envelopeOf, eventually } from '../../src/kernel/testing/index.js';

/** JWT_SECRET for specs that craft tokens by hand (≥ 32 bytes). */
export const TEST_JWT_SECRET = 'module-specs-secret-0123456789abcdef-0123';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWT made with node:crypto only: base64url header and payload, HMAC signature (or none). */
export function craftJwt(
  payload: Record<string, unknown>,
  { secret = TEST_JWT_SECRET, alg = 'HS256' }: { secret?: string; alg?: 'HS256' | 'HS512' | 'none' } = {},
): string {
  const unsigned = `${b64url({ alg, typ: 'JWT' })}.${b64url(payload)}`;
  if (alg === 'none') return `${unsigned}.`;
  const hash = alg === 'HS512' ? 'sha512' : 'sha256';
  return `${unsigned}.${createHmac(hash, secret).update(unsigned).digest('base64url')}`;
}

export interface Claims {
  readonly sub: string;
  readonly role: 'user' | 'admin';
}

/** A correctly signed token that expires in 10 minutes. */
export function validJwt(claims: Claims): string {
  const now = Math.floor(Date.now() / 1000);
  return craftJwt({ ...claims, iat: now, exp: now + 600 });
}

/** Tokens that must all be refused with 401, by name. */
export function badJwts(claims: Claims): Record<string, string> {
  const now = Math.floor(Date.now() / 1000);
  const live = { ...claims, iat: now, exp: now + 600 };
  const [header, payload, signature = ''] = validJwt(claims).split('.');
  const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
  return {
    'a tampered payload (other subject, role admin)': `${header}.${b64url({ ...live, sub: `${claims.sub}-x`, role: 'admin' })}.${signature}`,
    'a tampered signature': `${header}.${payload}.${flipped}`,
    'an expired token': craftJwt({ ...claims, iat: now - 7200, exp: now - 3600 }),
    'alg none': craftJwt(live, { alg: 'none' }),
    'another secret': craftJwt(live, { secret: 'another-secret-0123456789abcdef-0123456' }),
    'HS512 (algorithm swap)': craftJwt(live, { alg: 'HS512' }),
    'no exp claim': craftJwt({ ...claims, iat: now }),
    'not a JWT': 'not-a-jwt',
  };
}

export interface Probe {
  readonly module: ModuleDefinition;
  /** Every message received, in order. */
  readonly received: Envelope[];
  /** The data of the received messages of one type. */
  dataOf<T = unknown>(definition: AnyMessageDefinition): T[];
}

/** A module `probe` whose consumer `probe.recorder` records the given message types. */
export function createProbe(messages: readonly AnyMessageDefinition[]): Probe {
  const received: Envelope[] = [];
  const module = defineModule({
    name: 'probe',
    subscriptions: [{ consumer: 'probe.recorder', handlers: [on(messages, (m) => void received.push(m))] }],
  });
  return {
    module,
    received,
    dataOf: <T>(definition: AnyMessageDefinition) =>
      received.filter((m) => m.type === definition.type).map((m) => m.data as T),
  };
}

/** Waits until no outbox row is pending and no consumer has a message waiting or in flight. */
export async function settled(kernel: Kernel, timeoutMs = 10_000): Promise<void> {
  await eventually(
    async () => {
      const pending = (await kernel.outboxStats()).reduce((sum, s) => sum + s.pending, 0);
      const lag = (await kernel.transport.stats()).reduce((sum, s) => sum + s.lag, 0);
      expect({ pending, lag }).toEqual({ pending: 0, lag: 0 });
    },
    { timeoutMs },
  );
}

/** Publishes the same envelope (same id) twice, waiting for the bus to settle after each. */
export async function deliverTwice(kernel: Kernel, draft: MessageDraft): Promise<Envelope> {
  const envelope = envelopeOf(draft, `twice-${Date.now()}`);
  for (let i = 0; i < 2; i++) {
    await kernel.transport.publish([envelope]);
    await settled(kernel);
  }
  return envelope;
}

/** Publishes one new envelope for the draft and waits for the bus to settle. */
export async function deliver(kernel: Kernel, ...drafts: MessageDraft[]): Promise<void> {
  await kernel.transport.publish(drafts.map((draft) => envelopeOf(draft)));
  await settled(kernel);
}

/** Every item of a paginated list, following `next` from page to page. */
export function allPages<Item>(
  app: HttpApp,
  url: string,
  headers: Record<string, string> = {},
): Promise<Item[]> {
  return collectPages(async (cursor) => {
    const response = await app.inject({ url: pagePath(url, cursor), headers });
    expect(response.statusCode, response.body).toBe(200);
    return response.json() as Page<Item>;
  });
}
