import type { DnsMessage, DnsRecord } from '../../src/mdns/protocol/dnsCodec.js';
import { describe, expect } from '@jest/globals';
import { test, fc } from '@fast-check/jest';
import {
  RType,
  decodeMessage,
  encodeMessage,
  nameToLabels,
} from '../../src/mdns/protocol/dnsCodec.js';
import { decodeTxt } from '../../src/mdns/protocol/serviceRecords.js';
import { parseAvahiBrowseLine } from '../../src/mdns/protocol/avahiBrowse.js';
import { parseIPv6, formatIPv6 } from '../../src/mdns/protocol/ip.js';
import { ErrorMdnsCodec } from '../../src/errors.js';

/** Any decode outcome but a typed codec error is a bug. */
function decodeOrCodecError(bytes: Uint8Array): DnsMessage | 'error' {
  try {
    return decodeMessage(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(ErrorMdnsCodec);
    return 'error';
  }
}

/** Names as presentation text, labels of arbitrary bytes (dots and backslashes escaped). */
const label = fc
  .uint8Array({ minLength: 1, maxLength: 63 })
  .map((b) =>
    [...b]
      .map((x) =>
        x === 0x2e || x === 0x5c || x < 0x21 || x > 0x7e
          ? `\\${x.toString().padStart(3, '0')}`
          : String.fromCharCode(x),
      )
      .join(''),
  );
const name = fc
  .array(fc.oneof(label, fc.constantFrom('local', '_node-network', '_udp', 'LOCAL')), {
    minLength: 1,
    maxLength: 4,
  })
  .map((ls) => ls.join('.'))
  .filter((n) => {
    try {
      nameToLabels(n);
      return true;
    } catch {
      return false;
    }
  });
const ipv4 = fc.ipV4();
const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIPv6(b));
const record: fc.Arbitrary<DnsRecord> = fc
  .record({
    name,
    cacheFlush: fc.boolean(),
    ttl: fc.nat({ max: 0xffffffff }),
    data: fc.oneof(
      ipv4.map((address) => ({ kind: 'A' as const, address })),
      ipv6.map((address) => ({ kind: 'AAAA' as const, address })),
      name.map((n) => ({ kind: 'PTR' as const, name: n })),
      fc
        .record({
          priority: fc.nat({ max: 0xffff }),
          weight: fc.nat({ max: 0xffff }),
          port: fc.nat({ max: 0xffff }),
          target: name,
        })
        .map((s) => ({ kind: 'SRV' as const, ...s })),
      fc
        .array(fc.uint8Array({ maxLength: 255 }), { minLength: 1, maxLength: 4 })
        .map((strings) => ({ kind: 'TXT' as const, strings })),
      fc.uint8Array({ maxLength: 40 }).map((bytes) => ({ kind: 'raw' as const, bytes })),
    ),
  })
  .map((r) => {
    const type =
      r.data.kind === 'raw'
        ? RType.NSEC
        : { A: RType.A, AAAA: RType.AAAA, PTR: RType.PTR, SRV: RType.SRV, TXT: RType.TXT }[
            r.data.kind
          ];
    return { ...r, type };
  });
const message: fc.Arbitrary<DnsMessage> = fc.record({
  id: fc.nat({ max: 0xffff }),
  response: fc.boolean(),
  authoritative: fc.boolean(),
  truncated: fc.boolean(),
  opcode: fc.nat({ max: 15 }),
  rcode: fc.nat({ max: 15 }),
  questions: fc.array(fc.record({ name, type: fc.nat({ max: 0xffff }), qu: fc.boolean() }), {
    maxLength: 3,
  }),
  answers: fc.array(record, { maxLength: 4 }),
  authorities: fc.array(record, { maxLength: 2 }),
  additionals: fc.array(record, { maxLength: 3 }),
});

/** Compares names case-sensitively: the codec keeps case. */
function normalise(m: DnsMessage): unknown {
  const rec = (r: DnsRecord) => ({
    ...r,
    data:
      r.data.kind === 'TXT'
        ? { kind: 'TXT', strings: r.data.strings.map((s) => [...s]) }
        : r.data.kind === 'raw'
          ? { kind: 'raw', bytes: [...r.data.bytes] }
          : r.data,
  });
  return {
    ...m,
    answers: m.answers.map(rec),
    authorities: m.authorities.map(rec),
    additionals: m.additionals.map(rec),
  };
}

describe('DNS message codec', () => {
  test.prop([message])('encode then decode gives the message back (with name compression)', (m) => {
    const bytes = encodeMessage(m);
    expect(normalise(decodeMessage(bytes))).toEqual(normalise(m));
  });

  test.prop([fc.uint8Array({ maxLength: 600 })])(
    'arbitrary bytes: a message or ErrorMdnsCodec',
    (b) => {
      decodeOrCodecError(b);
    },
  );

  test.prop([
    message,
    fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 8 }),
    fc.nat(),
  ])('mutated and truncated messages: a message or ErrorMdnsCodec', (m, flips, cut) => {
    const bytes = encodeMessage(m);
    for (const [at, v] of flips) if (bytes.length > 0) bytes[at % bytes.length] = v;
    decodeOrCodecError(bytes.subarray(0, bytes.length === 0 ? 0 : cut % (bytes.length + 1)));
  });

  test.prop([fc.integer({ min: 14, max: 0x3fff })])(
    'compression pointers to themselves or forward are refused',
    (target) => {
      // One question: label "a" at 12, then a pointer at 14 to `target` (>= its own offset).
      const msg = Uint8Array.from([
        0,
        0,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        0x61,
        0xc0 | (target >> 8),
        target & 0xff,
        0,
        1,
        0,
        1,
      ]);
      expect(decodeOrCodecError(msg)).toBe('error');
    },
  );

  test('a chain of pointers, each pointing at the one before it, is refused (no loop)', () => {
    // q1: "a" -> ptr to q2 (forward) ; q2: ptr to q1
    const m = Uint8Array.from([
      0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 0x61, 0xc0, 20, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1,
    ]);
    expect(() => decodeMessage(m)).toThrow(ErrorMdnsCodec);
    const tight = Uint8Array.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    expect(() => decodeMessage(tight)).toThrow(ErrorMdnsCodec);
  });

  test('oversized messages, names and lying counts are refused', () => {
    expect(() => decodeMessage(new Uint8Array(9001))).toThrow(ErrorMdnsCodec);
    const counts = Uint8Array.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0]);
    expect(() => decodeMessage(counts)).toThrow(/counts/);
    // A name of 5 x 63-byte labels (> 255 bytes) via labels.
    const long = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 5; i++) long.push(63, ...new Array(63).fill(0x61));
    long.push(0, 0, 1, 0, 1);
    expect(() => decodeMessage(Uint8Array.from(long))).toThrow(/255/);
    expect(() => nameToLabels(`${'a'.repeat(64)}.local`)).toThrow(ErrorMdnsCodec);
    const big: DnsMessage = {
      id: 0,
      response: true,
      authoritative: true,
      truncated: false,
      opcode: 0,
      rcode: 0,
      questions: [],
      answers: Array.from({ length: 40 }, () => ({
        name: 'x.local',
        type: RType.TXT,
        cacheFlush: false,
        ttl: 1,
        data: { kind: 'TXT' as const, strings: [new Uint8Array(255)] },
      })),
      authorities: [],
      additionals: [],
    };
    expect(() => encodeMessage(big)).toThrow(ErrorMdnsCodec);
  });

  test('hostile TXT records: overruns refused, odd keys kept as plain data', () => {
    // TXT rdata of length 3 whose string claims 10 bytes.
    const m = Uint8Array.from([
      0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0x78, 0, 0, 16, 0, 1, 0, 0, 0, 10, 0, 3, 10, 0x61,
      0x62,
    ]);
    expect(() => decodeMessage(m)).toThrow(/TXT/);
    const txt = decodeTxt(
      ['__proto__=x', 'constructor=y', '=novalue', 'noeq', 'ID=first', 'id=second', 'a=b=c'].map(
        (s) => Buffer.from(s),
      ),
    );
    expect(Object.getPrototypeOf(txt)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(txt.id).toBe('first');
    expect(txt.a).toBe('b=c');
    expect(txt.noeq).toBeUndefined();
  });

  test.prop([fc.string({ maxLength: 300 })])(
    'avahi-browse lines: parsed or undefined, never thrown',
    (s) => {
      parseAvahiBrowseLine(s);
      parseAvahiBrowseLine(`=;eth0;IPv4;${s};_node-network._udp;local;h.local;198.18.0.1;1;${s}`);
    },
  );

  test('an avahi-browse resolved line', () => {
    const l = parseAvahiBrowseLine(
      '=;eth0;IPv6;v\\046x;_node-network._udp;local;h2.local;fe80::1;1002;"net=testnet" "id=a\\"b" "txtvers=1"',
    );
    expect(l).toEqual({
      kind: 'resolved',
      iface: 'eth0',
      protocol: 'IPv6',
      instance: 'v.x',
      type: '_node-network._udp',
      host: 'h2.local',
      address: 'fe80::1',
      port: 1002,
      txt: ['net=testnet', 'id=a"b', 'txtvers=1'],
    });
  });

  test.prop([fc.uint8Array({ minLength: 16, maxLength: 16 })])('IPv6 text round-trips', (b) => {
    expect([...parseIPv6(formatIPv6(b))!]).toEqual([...b]);
  });
});
