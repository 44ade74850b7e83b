import { describe, test, expect } from '@jest/globals';
import { test as testProp, fc } from '@fast-check/jest';
import * as addresses from '../src/addresses.js';
import { ErrorAddressInvalid } from '../src/errors.js';

describe('addresses', () => {
  testProp.prop([fc.ipV4()])('IPv4 literals normalise to themselves', (ip) => {
    expect(addresses.parseHost(ip)).toBe(ip);
    expect(addresses.hostFamily(addresses.parseHost(ip))).toBe('ipv4');
  });

  testProp.prop([fc.ipV6()])('IPv6 literals normalise to a canonical fixpoint', (ip) => {
    const h = addresses.parseHost(ip);
    expect(addresses.parseHost(h)).toBe(h);
    // Same 16 bytes as the input (or IPv4 when the input was IPv4-mapped).
    if (addresses.hostFamily(h) === 'ipv6') {
      expect(Buffer.from(addresses.parseIPv6(h)!)).toEqual(Buffer.from(addresses.parseIPv6(ip)!));
    }
  });

  testProp.prop([fc.ipV4()])('IPv4-mapped IPv6 folds to IPv4', (ip) => {
    expect(addresses.parseHost(`::ffff:${ip}`)).toBe(ip);
    expect(addresses.parseHost(`[::ffff:${ip}]`)).toBe(ip);
  });

  test('canonical IPv6 text follows RFC 5952', () => {
    expect(addresses.parseHost('2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(addresses.parseHost('2001:db8:0:1:0:0:0:1')).toBe('2001:db8:0:1::1');
    expect(addresses.parseHost('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(addresses.parseHost('::')).toBe('::');
    expect(addresses.parseHost('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
  });

  testProp.prop([fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 0, max: 65535 })])(
    'format and parse of an address round-trip',
    (ip, port) => {
      const a = addresses.toAddress(ip, port);
      const b = addresses.parseAddress(addresses.formatAddress(a));
      expect(b).toEqual(a);
    },
  );

  testProp.prop([fc.anything()])('hostile input never throws an untyped error', (x) => {
    for (const f of [
      () => addresses.parseHost(x),
      () => addresses.parseAddress(x),
      () => addresses.toAddress(x, x),
      () => addresses.parsePort(x),
    ]) {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(ErrorAddressInvalid);
      }
    }
  });

  testProp.prop([fc.string({ maxLength: 100 })])('random strings parse or fail typed', (s) => {
    try {
      const a = addresses.parseAddress(s);
      expect(addresses.parseAddress(addresses.formatAddress(a))).toEqual(a);
    } catch (e) {
      expect(e).toBeInstanceOf(ErrorAddressInvalid);
    }
  });

  test('rejects hostnames, zones, bad ports and bracketed IPv4', () => {
    for (const bad of [
      'localhost:1',
      'fe80::1%eth0',
      '1.2.3.4:70000',
      '[1.2.3.4]:5',
      '1.2.3.4',
      '::1:5',
      '',
    ]) {
      expect(() => addresses.parseAddress(bad)).toThrow(ErrorAddressInvalid);
    }
  });

  test('scopes', () => {
    const s = (h: string) => addresses.hostScope(addresses.parseHost(h));
    expect(s('127.0.0.1')).toBe('loopback');
    expect(s('::1')).toBe('loopback');
    expect(s('fe80::1')).toBe('link-local');
    expect(s('192.168.1.1')).toBe('private');
    expect(s('fd00::1')).toBe('private');
    expect(s('203.0.113.7')).toBe('global');
    expect(s('2001:db8::1')).toBe('global');
    expect(s('0.0.0.0')).toBe('unspecified');
    expect(s('::')).toBe('unspecified');
  });

  testProp.prop([
    fc.array(fc.tuple(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 1, max: 65535 })), {
      maxLength: 12,
    }),
  ])('happy eyeballs order: same set, no duplicates, IPv6 first, families alternate', (pairs) => {
    const input = pairs.map(([h, p]) => addresses.toAddress(h, p));
    const out = addresses.happyEyeballsOrder(input);
    const key = (a: { host: string; port: number }) => `${a.host}|${a.port}`;
    expect(new Set(out.map(key))).toEqual(new Set(input.map(key)));
    expect(new Set(out.map(key)).size).toBe(out.length);
    const v6 = out.filter((a) => a.family === 'ipv6');
    const v4 = out.filter((a) => a.family === 'ipv4');
    if (v6.length > 0) expect(out[0].family).toBe('ipv6');
    for (let i = 0; i < 2 * Math.min(v6.length, v4.length); i++) {
      expect(out[i].family).toBe(i % 2 === 0 ? 'ipv6' : 'ipv4');
    }
  });
});
