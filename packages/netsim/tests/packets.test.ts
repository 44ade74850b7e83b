import type { Packet } from '../src/connections/packets.js';
import { test, fc } from '@fast-check/jest';
import { expect } from '@jest/globals';
import { errors as baseErrors } from '@node-network/network-interface';
import { decodePacket, encodePacket } from '../src/connections/packets.js';

const u32 = fc.nat({ max: 0xffffffff });
const id = fc.uint8Array({ minLength: 32, maxLength: 32 });
const packet: fc.Arbitrary<Packet> = fc.oneof(
  fc.record({
    type: fc.constant('hello' as const),
    connId: u32,
    from: id,
    to: id,
    network: fc.string({ maxLength: 60 }),
  }),
  fc.record({ type: fc.constant('welcome' as const), connId: u32, peerConnId: u32, from: id }),
  fc.record({
    type: fc.constant('reject' as const),
    connId: u32,
    reason: fc.constant('network' as const),
  }),
  fc.oneof(
    fc.record({
      type: fc.constant('frame' as const),
      connId: u32,
      seq: u32,
      kind: fc.constant('data' as const),
      streamId: u32,
      data: fc.uint8Array({ maxLength: 200 }),
    }),
    fc.record({
      type: fc.constant('frame' as const),
      connId: u32,
      seq: u32,
      kind: fc.constantFrom('fin' as const, 'reset' as const),
      streamId: u32,
      data: fc.constant(new Uint8Array(0)),
    }),
  ),
  fc.record({ type: fc.constant('ack' as const), connId: u32, next: u32 }),
  fc.record({ type: fc.constantFrom('keepalive' as const, 'close' as const), connId: u32 }),
);

test.prop([packet])('every packet survives encode then decode', (p) => {
  const back = decodePacket(encodePacket(p));
  expect(JSON.stringify(back, (_, v) => (v instanceof Uint8Array ? [...v] : v))).toBe(
    JSON.stringify(p, (_, v) => (v instanceof Uint8Array ? [...v] : v)),
  );
});

test.prop([fc.uint8Array({ maxLength: 300 })])(
  'arbitrary bytes decode to a packet or throw ErrorCodec, nothing else',
  (bytes) => {
    try {
      const p = decodePacket(bytes);
      // Whatever decodes must re-encode to the same bytes: one meaning per packet.
      expect(Buffer.from(encodePacket(p)).equals(Buffer.from(bytes))).toBe(true);
    } catch (e) {
      expect(e).toBeInstanceOf(baseErrors.ErrorCodec);
    }
  },
);

test.prop([packet, fc.nat({ max: 400 }), fc.integer({ min: 1, max: 255 })])(
  'truncated, extended or corrupted packets are refused or decode to one exact meaning',
  (p, cut, byte) => {
    const bytes = encodePacket(p);
    const variants = [
      bytes.subarray(0, Math.min(cut, bytes.byteLength - 1)),
      new Uint8Array([...bytes, byte]),
      Object.assign(new Uint8Array(bytes), { [cut % bytes.byteLength]: byte }),
    ];
    for (const v of variants) {
      try {
        const q = decodePacket(v);
        expect(Buffer.from(encodePacket(q)).equals(Buffer.from(v))).toBe(true);
      } catch (e) {
        expect(e).toBeInstanceOf(baseErrors.ErrorCodec);
      }
    }
  },
);
