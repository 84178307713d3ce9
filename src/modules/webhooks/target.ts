import dns, { type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { isRefusedAddress, withoutBrackets } from './address-policy.js';

export type TargetProblem =
  | 'WEBHOOKS_INVALID_URL'
  | 'WEBHOOKS_PRIVATE_TARGET'
  | 'WEBHOOKS_UNRESOLVABLE_TARGET';

/** A webhook URL this server will not call; `code` is the error code the API answers with. */
export class TargetRefusedError extends Error {
  override readonly name = 'TargetRefusedError';
  constructor(
    readonly code: TargetProblem,
    message: string,
  ) {
    super(message);
  }
}

/** Every address a host name resolves to (IPv4 and IPv6), as the system resolver answers. */
export type ResolveHost = (hostname: string) => Promise<readonly LookupAddress[]>;

const resolveWithSystem: ResolveHost = (hostname) =>
  dns.promises.lookup(hostname, { all: true, verbatim: true });

/** An absolute http(s) URL without credentials (they would be stored and shown in listings). */
export function parseTargetUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetRefusedError('WEBHOOKS_INVALID_URL', 'url is not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TargetRefusedError('WEBHOOKS_INVALID_URL', `url must be http or https (got ${url.protocol})`);
  }
  if (url.username || url.password) {
    throw new TargetRefusedError('WEBHOOKS_INVALID_URL', 'url must not carry a user name or password');
  }
  return url;
}

function privateTarget(host: string, address: string): TargetRefusedError {
  const via = host === address ? '' : ` (${host} resolves to it)`;
  return new TargetRefusedError(
    'WEBHOOKS_PRIVATE_TARGET',
    `${address} is a private, loopback or link-local address${via}; webhooks go to public addresses only`,
  );
}

/**
 * Refuses a URL whose host is, or resolves to, any address that is not public: every address of
 * the answer is checked, since the client may connect to any of them.
 */
export async function assertPublicTarget(url: URL, resolve: ResolveHost = resolveWithSystem): Promise<void> {
  const host = withoutBrackets(url.hostname);
  const addresses = isIP(host) ? [host] : await resolveOrRefuse(host, resolve);
  const refused = addresses.find(isRefusedAddress);
  if (refused !== undefined) throw privateTarget(host, refused);
}

async function resolveOrRefuse(host: string, resolve: ResolveHost): Promise<string[]> {
  try {
    const answer = await resolve(host);
    if (answer.length > 0) return answer.map((a) => a.address);
  } catch {
    // reported below, as for an empty answer
  }
  throw new TargetRefusedError('WEBHOOKS_UNRESOLVABLE_TARGET', `${host} does not resolve to an address`);
}

/**
 * A `lookup` for node:http that refuses private answers at connect time. A name checked when the
 * webhook was created may point elsewhere later (DNS rebinding): the addresses the socket really
 * connects to are the ones checked here. (Literal IP hosts never reach a lookup: check them first.)
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0);
    const refused = addresses.find((a) => isRefusedAddress(a.address));
    if (refused) return callback(privateTarget(hostname, refused.address), '', 0);
    const [first] = addresses;
    if (options.all || !first) return callback(null, addresses);
    return callback(null, first.address, first.family);
  });
};
