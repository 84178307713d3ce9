import { BlockList, isIP } from 'node:net';

/**
 * Which IP addresses a webhook may not reach: everything that is not public unicast. A webhook
 * URL is chosen by a user and fetched by this server, so without this a user could make the
 * server call its own loopback admin routes, the cloud metadata service (169.254.169.254) or any
 * host of the internal network (server-side request forgery).
 */

/** IPv4 ranges that are not public unicast (IANA special-purpose registry). */
const IPV4_REFUSED: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches the local host on Linux
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT (shared address space)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata services
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255 broadcast
];

/** IPv6 ranges that are not public unicast, or that tunnel to addresses we cannot check. */
const IPV6_REFUSED: readonly (readonly [string, number])[] = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::', 96], // IPv4-compatible (deprecated)
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard-only
  ['2001::', 32], // Teredo: the IPv4 behind it is obfuscated
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local (private)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

/**
 * IPv6 forms that carry an IPv4 address, as the IPv6 subnet that holds IPv4 subnet `v4/bits`: the
 * embedded address must pass the IPv4 rules (NAT64 of 127.0.0.1 reaches 127.0.0.1). IPv4-mapped
 * addresses (::ffff:a.b.c.d) need no entry: BlockList checks them against the IPv4 rules itself.
 */
const IPV6_EMBEDDINGS: readonly ((high: string, low: string, bits: number) => [string, number])[] = [
  (high, low, bits) => [`64:ff9b::${high}:${low}`, 96 + bits], // NAT64 well-known prefix
  (high, low, bits) => [`2002:${high}:${low}::`, 16 + bits], // 6to4
];

/** 10.1.2.3 → ['a01', '203']: the two IPv6 hextets of an IPv4 address. */
function ipv4Hextets(address: string): [string, string] {
  const [a = 0, b = 0, c = 0, d = 0] = address.split('.').map(Number);
  const hextet = (high: number, low: number) => ((high << 8) | low).toString(16);
  return [hextet(a, b), hextet(c, d)];
}

function createRefusedList(): BlockList {
  const list = new BlockList();
  for (const [network, bits] of IPV4_REFUSED) list.addSubnet(network, bits, 'ipv4');
  for (const [network, bits] of IPV6_REFUSED) list.addSubnet(network, bits, 'ipv6');
  for (const embed of IPV6_EMBEDDINGS) {
    for (const [network, bits] of IPV4_REFUSED) {
      const [v6, v6Bits] = embed(...ipv4Hextets(network), bits);
      list.addSubnet(v6, v6Bits, 'ipv6');
    }
  }
  return list;
}

const refused = createRefusedList();

/** `[::1]` (a URL's hostname) → `::1`; anything else unchanged. */
export function withoutBrackets(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/**
 * True when a webhook must not be sent to this address: private, loopback, link-local, carrier
 * NAT, multicast, reserved or documentation ranges, in IPv4 or IPv6 (also IPv4-mapped, NAT64 and
 * 6to4 forms of those). Anything that is not an IP address is refused too.
 */
export function isRefusedAddress(address: string): boolean {
  const bare = withoutBrackets(address);
  const version = isIP(bare);
  if (version === 0) return true;
  // An IPv6 zone (fe80::1%eth0) names an interface: always a link-local target.
  if (bare.includes('%')) return true;
  return refused.check(bare, version === 4 ? 'ipv4' : 'ipv6');
}
