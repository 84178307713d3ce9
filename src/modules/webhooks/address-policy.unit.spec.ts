import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { isRefusedAddress } from './address-policy.js';
import { assertPublicTarget, parseTargetUrl, type ResolveHost, TargetRefusedError } from './target.js';

describe('webhook target addresses', () => {
  it.each([
    ['127.0.0.1', 'IPv4 loopback'],
    ['127.255.0.9', 'IPv4 loopback, anywhere in 127/8'],
    ['10.1.2.3', 'private 10/8'],
    ['172.16.5.4', 'private 172.16/12'],
    ['172.31.255.255', 'private 172.16/12, last address'],
    ['192.168.0.10', 'private 192.168/16'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['0.0.0.0', '"this host"'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.1', 'documentation'],
    ['::1', 'IPv6 loopback'],
    ['[::1]', 'IPv6 loopback as a URL writes it'],
    ['::', 'unspecified'],
    ['fd12:3456::1', 'unique local fc00::/7'],
    ['fe80::1', 'IPv6 link-local'],
    ['fe80::1%eth0', 'link-local with a zone'],
    ['ff02::1', 'IPv6 multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:a9fe:a9fe', 'IPv4-mapped metadata address, hex form'],
    ['64:ff9b::a00:1', 'NAT64 of 10.0.0.1'],
    ['2002:c0a8:1::1', '6to4 of 192.168.0.1'],
    ['localhost', 'a name (only resolved addresses are checked)'],
  ])('refuses %s (%s)', (address) => {
    expect(isRefusedAddress(address)).toBe(true);
  });

  it.each([
    ['93.184.215.14', 'public IPv4'],
    ['8.8.8.8', 'public IPv4'],
    ['172.32.0.1', 'just above 172.16/12'],
    ['100.128.0.1', 'just above 100.64/10'],
    ['2606:4700:4700::1111', 'public IPv6'],
    ['::ffff:8.8.8.8', 'IPv4-mapped public address'],
    ['64:ff9b::808:808', 'NAT64 of a public address (DNS64 networks)'],
  ])('allows %s (%s)', (address) => {
    expect(isRefusedAddress(address)).toBe(false);
  });
});

const answer =
  (...addresses: string[]): ResolveHost =>
  async () =>
    addresses.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 }));

async function refusal(url: string, resolve: ResolveHost = answer()): Promise<string> {
  try {
    await assertPublicTarget(parseTargetUrl(url), resolve);
  } catch (error) {
    if (error instanceof TargetRefusedError) return error.code;
    throw error;
  }
  return 'accepted';
}

describe('webhook target URLs', () => {
  it.each([
    ['ftp://example.com/x', 'WEBHOOKS_INVALID_URL'],
    ['file:///etc/passwd', 'WEBHOOKS_INVALID_URL'],
    ['not a url', 'WEBHOOKS_INVALID_URL'],
    ['https://user:pass@example.com/', 'WEBHOOKS_INVALID_URL'],
    ['http://127.0.0.1:8080/hook', 'WEBHOOKS_PRIVATE_TARGET'],
    ['http://2130706433/hook', 'WEBHOOKS_PRIVATE_TARGET'], // 127.0.0.1 as one number
    ['http://0x7f.1/hook', 'WEBHOOKS_PRIVATE_TARGET'], // 127.0.0.1 in hex shorthand
    ['http://[::ffff:127.0.0.1]/hook', 'WEBHOOKS_PRIVATE_TARGET'],
    ['https://93.184.215.14/hook', 'accepted'],
  ])('%s → %s', async (url, expected) => {
    expect(await refusal(url)).toBe(expected);
  });

  it('checks every address a name resolves to, not only the first', async () => {
    expect(await refusal('https://hooks.example/x', answer('93.184.215.14'))).toBe('accepted');
    expect(await refusal('https://hooks.example/x', answer('93.184.215.14', '10.0.0.7'))).toBe(
      'WEBHOOKS_PRIVATE_TARGET',
    );
    expect(await refusal('https://hooks.example/x', answer('2606:4700::1', 'fe80::2'))).toBe(
      'WEBHOOKS_PRIVATE_TARGET',
    );
  });

  it('refuses a name that does not resolve', async () => {
    const failing: ResolveHost = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    expect(await refusal('https://nowhere.invalid/x', failing)).toBe('WEBHOOKS_UNRESOLVABLE_TARGET');
    expect(await refusal('https://nowhere.invalid/x', answer())).toBe('WEBHOOKS_UNRESOLVABLE_TARGET');
  });
});
