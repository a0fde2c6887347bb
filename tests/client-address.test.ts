// clientAddressReader over plain request shapes, and limitKey: which address per-address limits count.
import type { IncomingMessage } from 'node:http';
import { describe, it, expect } from 'vitest';
import { clientAddressReader, limitKey } from '../server/client-address.js';

const request = (remoteAddress: string | undefined, forwardedFor?: string | string[]) =>
  ({ socket: { remoteAddress }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } }) as unknown as IncomingMessage;

describe('clientAddressReader', () => {
  const behindProxies = clientAddressReader(['10.0.0.0/8', '::1']);

  it('is the socket peer when no proxy is trusted, whatever the header says', () => {
    const untrusting = clientAddressReader([]);
    expect(untrusting(request('10.1.2.3', '203.0.113.7'))).toBe('10.1.2.3');
    expect(untrusting(request('::ffff:192.0.2.1'))).toBe('192.0.2.1');
    expect(untrusting(request('::FFFF:192.0.2.1'))).toBe('192.0.2.1');
    expect(untrusting(request(undefined))).toBe('unknown');
  });

  it('is the socket peer when that peer is not a trusted proxy', () => {
    expect(behindProxies(request('192.0.2.1', '203.0.113.7'))).toBe('192.0.2.1');
  });

  it('skips trusted hops from the right and stops at the first address that is not one', () => {
    expect(behindProxies(request('::ffff:10.0.0.2', '203.0.113.7'))).toBe('203.0.113.7');
    expect(behindProxies(request('10.0.0.2', '198.51.100.1, 203.0.113.7, 10.9.9.9'))).toBe('203.0.113.7');
    expect(behindProxies(request('::1', ['198.51.100.1', '203.0.113.7, ::1']))).toBe('203.0.113.7');
    expect(behindProxies(request('10.0.0.2', '2001:db8::5'))).toBe('2001:db8::5');
  });

  it('stops at the nearest proxy when the header is missing, empty, malformed or all proxies', () => {
    expect(behindProxies(request('10.0.0.2'))).toBe('10.0.0.2');
    expect(behindProxies(request('10.0.0.2', ''))).toBe('10.0.0.2');
    expect(behindProxies(request('10.0.0.2', '203.0.113.7, garbage'))).toBe('10.0.0.2');
    expect(behindProxies(request('10.0.0.2', '203.0.113.7, , 10.0.0.3'))).toBe('10.0.0.3');
    expect(behindProxies(request('10.0.0.2', '10.0.0.5, 10.0.0.3'))).toBe('10.0.0.5');
  });
});

describe('limitKey', () => {
  it('counts an IPv4 address alone, and an IPv6 address by its /64, however it is written', () => {
    expect(limitKey('203.0.113.7')).toBe('203.0.113.7');
    expect(limitKey('2001:db8:a:b:1:2:3:4')).toBe('2001:db8:a:b::/64');
    expect(limitKey('2001:DB8:A:B::9')).toBe('2001:db8:a:b::/64');
    expect(limitKey('2001:0db8:000a:000b:ffff::')).toBe('2001:db8:a:b::/64');
    expect(limitKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(limitKey('2001:db8:0:1::1')).toBe('2001:db8:0:1::/64');
    expect(limitKey('::1')).toBe('0:0:0:0::/64');
    expect(limitKey('fe80::1:2:3:4')).toBe('fe80:0:0:0::/64');
  });

  it('counts an IPv6 address that carries an IPv4 one alone, and leaves anything else as it is', () => {
    expect(limitKey('64:ff9b::192.0.2.1')).toBe('64:ff9b::192.0.2.1');
    expect(limitKey('64:ff9b::192.0.2.2')).not.toBe(limitKey('64:ff9b::192.0.2.1'));
    expect(limitKey('unknown')).toBe('unknown');
  });
});
