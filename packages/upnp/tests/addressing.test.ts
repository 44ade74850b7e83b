import { describe, expect } from '@jest/globals';
import { test, fc } from '@fast-check/jest';
import {
  ipv4FromMapped,
  ipv4MappedToBytes,
  isPublicIPv4,
  parseIPv4,
} from '../src/protocol/ipv4.js';
import { parseDefaultRoute } from '../src/protocol/route.js';
import {
  renewalDelayMs,
  renewalRetryDelayMs,
  retransmitOffsets,
} from '../src/protocol/schedule.js';

describe('IPv4 forms', () => {
  test.prop([fc.ipV4()])('dotted quads parse; IPv4-mapped bytes round-trip', (a) => {
    expect(parseIPv4(a)?.join('.')).toBe(a);
    expect(ipv4FromMapped(ipv4MappedToBytes(a))).toBe(a);
  });

  test.prop([fc.string({ maxLength: 20 })])('anything else is not an address', (s) => {
    const p = parseIPv4(s);
    if (p != null) expect(p.join('.')).toBe(s);
  });

  test('public means routable: private, CGNAT, loopback, link-local, documentation, benchmark, multicast are not', () => {
    for (const a of [
      '7.7.7.1',
      '8.8.8.8',
      '1.1.1.1',
      '100.63.255.255',
      '100.128.0.0',
      '172.32.0.1',
      '198.20.0.1',
    ]) {
      expect([a, isPublicIPv4(a)]).toEqual([a, true]);
    }
    for (const a of [
      '0.0.0.0',
      '10.1.2.3',
      '100.64.0.1',
      '127.0.0.1',
      '169.254.1.1',
      '172.16.0.1',
      '192.168.1.1',
      '192.0.2.1',
      '198.18.1.1',
      '198.19.255.255',
      '198.51.100.7',
      '203.0.113.1',
      '224.0.0.1',
      '255.255.255.255',
      'garbage',
      '1.2.3.04',
      '1.2.3',
    ]) {
      expect([a, isPublicIPv4(a)]).toEqual([a, false]);
    }
  });
});

describe('default gateway from /proc/net/route', () => {
  const header =
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n';
  test("a lab host's table, as read inside its namespace", () => {
    const text =
      header +
      'eth0\t00000000\t010112C6\t0003\t0\t0\t0\t00000000\t0\t0\t0\n' +
      'eth0\t000112C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n';
    expect(parseDefaultRoute(text)).toEqual({
      gateway: '198.18.1.1',
      interface: 'eth0',
      metric: 0,
    });
  });

  test('the lowest metric wins; down routes, non-gateway routes and junk are skipped', () => {
    const text =
      header +
      'wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n' +
      'eth0\t00000000\t010112C6\t0003\t0\t0\t100\t00000000\t0\t0\t0\n' +
      'tun0\t00000000\t01010101\t0002\t0\t0\t0\t00000000\t0\t0\t0\n' +
      'tun1\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n' +
      'junk line\n';
    expect(parseDefaultRoute(text)?.gateway).toBe('198.18.1.1');
    expect(parseDefaultRoute(header)).toBeUndefined();
    expect(parseDefaultRoute('')).toBeUndefined();
  });

  test.prop([fc.string({ maxLength: 500 })])(
    'arbitrary text: a route or undefined, never a throw',
    (s) => {
      const r = parseDefaultRoute(s);
      if (r != null) expect(parseIPv4(r.gateway)).toBeDefined();
    },
  );
});

describe('timing', () => {
  test('resends at 250 ms doubling (RFC 6886), within the budget', () => {
    expect(retransmitOffsets(250, 5000)).toEqual([0, 250, 750, 1750, 3750]);
    expect(retransmitOffsets(250, 1000)).toEqual([0, 250, 750]);
    expect(retransmitOffsets(250, 64_000)).toHaveLength(9);
  });

  test('renewal at half the lease; retries at half of what is left, then at the after-expiry interval', () => {
    expect(renewalDelayMs(7200)).toBe(3_600_000);
    expect(renewalDelayMs(4)).toBe(2000);
    expect(renewalRetryDelayMs(8000, 60_000)).toBe(4000);
    expect(renewalRetryDelayMs(1500, 60_000)).toBe(1000);
    expect(renewalRetryDelayMs(-5, 60_000)).toBe(60_000);
  });
});
