import type { Address } from '@node-network/network-interface';
import type { ProbeMessage } from '../src/probe/messages.js';
import { test as testProp, fc } from '@fast-check/jest';
import { describe, test, expect } from '@jest/globals';
import { errors as baseErrors } from '@node-network/network-interface';
import {
  decodeProbeMessage,
  encodeProbeMessage,
  maxAnswerSize,
  maxDatagramSize,
  requestSize,
  sameIp,
} from '../src/probe/messages.js';
import { ErrorNATProbeMessage } from '../src/probe/errors.js';

/** RFC 5952 text of an IPv6 literal, by the WHATWG URL parser: an independent oracle. */
function canonicalIPv6(host: string): string {
  return new URL(`http://[${host}]/`).hostname.slice(1, -1);
}

const nonce = fc.uint8Array({ minLength: 8, maxLength: 8 });
const observed: fc.Arbitrary<Address> = fc
  .tuple(
    fc.oneof(
      fc.ipV4().map((host) => ({ host, family: 'ipv4' as const })),
      fc.ipV6().map((host) => ({ host, family: 'ipv6' as const })),
    ),
    fc.integer({ min: 0, max: 65535 }),
  )
  .map(([a, port]) => ({ ...a, port }) as Address);
const request = fc.record({
  type: fc.constant('probe' as const),
  nonce,
  replyFrom: fc.subarray(['same', 'other-port', 'other-host'] as const, { minLength: 1 }),
  delayMs: fc.nat({ max: 600_000 }),
});
const answer = fc.record({
  type: fc.constant('answer' as const),
  nonce,
  from: fc.constantFrom('same' as const, 'other-port' as const, 'other-host' as const),
  observed,
});
const message: fc.Arbitrary<ProbeMessage> = fc.oneof(request, answer);

/** Decodes `bytes`: either a message that re-encodes to exactly `bytes`, or an `ErrorCodec`. */
function decodesExactlyOrRefuses(bytes: Uint8Array): void {
  let m: ProbeMessage;
  try {
    m = decodeProbeMessage(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(baseErrors.ErrorCodec);
    return;
  }
  expect(Buffer.from(encodeProbeMessage(m)).equals(Buffer.from(bytes))).toBe(true);
}

describe('NAT probe messages', () => {
  testProp.prop([message])('every valid message survives encode then decode', (m) => {
    const bytes = encodeProbeMessage(m);
    const expected =
      m.type === 'answer' && m.observed.family === 'ipv6'
        ? { ...m, observed: { ...m.observed, host: canonicalIPv6(m.observed.host) } }
        : m;
    expect(decodeProbeMessage(bytes)).toEqual(expected);
    // Anti-amplification: every answer fits in the size of one request.
    if (m.type === 'probe') expect(bytes.byteLength).toBe(requestSize);
    else expect(bytes.byteLength).toBeLessThanOrEqual(maxAnswerSize);
  });

  test('requests are padded to at least the largest answer', () => {
    expect(requestSize).toBeGreaterThanOrEqual(maxAnswerSize);
    const longest = encodeProbeMessage({
      type: 'answer',
      nonce: new Uint8Array(8),
      from: 'other-host',
      observed: { host: '2001:db8:1:2:3:4:5:6', port: 65535, family: 'ipv6' } as Address,
    });
    expect(longest.byteLength).toBe(maxAnswerSize);
  });

  testProp.prop([fc.uint8Array({ maxLength: 700 })])(
    'arbitrary bytes: a message that re-encodes to them, or ErrorCodec',
    decodesExactlyOrRefuses,
  );

  testProp.prop([
    fc.constantFrom(1, 2),
    fc.uint8Array({ maxLength: 40 }),
    fc.constantFrom(0, 4, 6, 7, 8, 0xff),
  ])('arbitrary bytes behind a valid header: a message or ErrorCodec', (type, tail, byte) => {
    const bytes = Uint8Array.from([0x4e, 0x50, 2, type, ...tail]);
    if (bytes.byteLength > 13) bytes[13] = byte; // often a valid address family
    decodesExactlyOrRefuses(bytes);
  });

  testProp.prop([message, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.uint8Array()])(
    'truncated, extended or bit-flipped encodings are refused or keep one exact meaning',
    (m, at, mask, extra) => {
      const bytes = encodeProbeMessage(m);
      const flipped = new Uint8Array(bytes);
      flipped[at % bytes.byteLength] ^= mask;
      decodesExactlyOrRefuses(bytes.subarray(0, at % bytes.byteLength));
      decodesExactlyOrRefuses(Uint8Array.from([...bytes, ...extra, mask]));
      decodesExactlyOrRefuses(flipped);
    },
  );

  test('refuses oversized, wrong version, unknown flags and invalid addresses', () => {
    const req = encodeProbeMessage({
      type: 'probe',
      nonce: new Uint8Array(8),
      replyFrom: ['same'],
      delayMs: 1000,
    });
    const ans = encodeProbeMessage({
      type: 'answer',
      nonce: new Uint8Array(8),
      from: 'same',
      observed: { host: '203.0.113.7', port: 4000, family: 'ipv4' } as Address,
    });
    const edit = (b: Uint8Array, at: number, v: number) => {
      const c = new Uint8Array(b);
      c[at] = v;
      return c;
    };
    const bad: Array<Uint8Array> = [
      new Uint8Array(maxDatagramSize + 1),
      Uint8Array.from([...req, ...new Uint8Array(maxDatagramSize)]),
      req.subarray(0, 5),
      edit(req, 0, 0),
      edit(req, 2, 1), // version 1 (the text-address format) is not read
      edit(req, 2, 3),
      edit(req, 3, 3), // unknown type
      edit(req, 12, 0), // no endpoint asked for
      edit(req, 12, 8), // unknown flag
      edit(req, 13, 0xff), // delay above 600000
      edit(req, 31, 1), // non-zero padding
      edit(ans, 12, 3), // an answer from two endpoints
      edit(ans, 13, 5), // unknown family
      edit(ans, 13, 6), // IPv6 family with 4 address bytes
      ans.subarray(0, ans.byteLength - 1),
    ];
    for (const b of bad) {
      expect(() => decodeProbeMessage(b)).toThrow(ErrorNATProbeMessage);
      expect(() => decodeProbeMessage(b)).toThrow(baseErrors.ErrorCodec);
    }
  });

  test('refuses to encode what has no encoding', () => {
    const nonce = new Uint8Array(8);
    const addr = (host: string, family: 'ipv4' | 'ipv6', port = 1) =>
      ({ host, port, family }) as Address;
    const bad: Array<any> = [
      { type: 'probe', nonce: new Uint8Array(7), replyFrom: ['same'], delayMs: 0 },
      { type: 'probe', nonce, replyFrom: [], delayMs: 0 },
      { type: 'probe', nonce, replyFrom: ['elsewhere'], delayMs: 0 },
      { type: 'probe', nonce, replyFrom: ['toString'], delayMs: 0 },
      { type: 'probe', nonce, replyFrom: ['same'], delayMs: -1 },
      { type: 'probe', nonce, replyFrom: ['same'], delayMs: 1.5 },
      { type: 'probe', nonce, replyFrom: ['same'], delayMs: 600_001 },
      { type: 'answer', nonce, from: 'same', observed: addr('example.com', 'ipv4') },
      { type: 'answer', nonce, from: 'same', observed: addr('2001:db8::1', 'ipv4') },
      { type: 'answer', nonce, from: 'same', observed: addr('192.0.2.1', 'ipv6') },
      { type: 'answer', nonce, from: 'same', observed: addr('fe80::1%eth0', 'ipv6') },
      { type: 'answer', nonce, from: 'same', observed: addr('192.0.2.1', 'ipv4', 65536) },
      { type: 'answer', nonce, from: 'there', observed: addr('192.0.2.1', 'ipv4') },
      { type: 'ping', nonce },
    ];
    for (const m of bad) expect(() => encodeProbeMessage(m)).toThrow(baseErrors.ErrorCodec);
  });

  test('sameIp compares addresses, not their text', () => {
    const a = (host: string, family: 'ipv4' | 'ipv6') => ({ host, port: 1, family }) as Address;
    expect(sameIp(a('::ffff:192.0.2.1', 'ipv6'), a('192.0.2.1', 'ipv4'))).toBe(true);
    expect(sameIp(a('2001:DB8:0::1', 'ipv6'), a('2001:db8::1', 'ipv6'))).toBe(true);
    expect(sameIp(a('192.0.2.1', 'ipv4'), a('192.0.2.2', 'ipv4'))).toBe(false);
    expect(sameIp(a('nonsense', 'ipv4'), a('nonsense', 'ipv4'))).toBe(false);
  });
});
