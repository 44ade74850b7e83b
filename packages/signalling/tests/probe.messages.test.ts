import type { ProbeMessage } from '../src/probe/messages.js';
import { test, fc } from '@fast-check/jest';
import { expect } from '@jest/globals';
import { errors as baseErrors } from '@node-network/network-interface';
import {
  decodeProbeMessage,
  encodeProbeMessage,
  maxAnswerSize,
  requestSize,
} from '../src/probe/messages.js';

const nonce = fc.uint8Array({ minLength: 8, maxLength: 8 });
const address = fc.oneof(
  fc.ipV4().map((host) => ({ host, family: 'ipv4' as const })),
  fc.ipV6().map((host) => ({ host, family: 'ipv6' as const })),
);
const message: fc.Arbitrary<ProbeMessage> = fc.oneof(
  fc.record({
    type: fc.constant('probe' as const),
    nonce,
    replyFrom: fc.subarray(['same', 'other-port', 'other-host'] as const, { minLength: 1 }),
    delayMs: fc.nat({ max: 600_000 }),
  }),
  fc.record({
    type: fc.constant('answer' as const),
    nonce,
    from: fc.constantFrom('same' as const, 'other-port' as const, 'other-host' as const),
    observed: fc
      .tuple(address, fc.integer({ min: 0, max: 65535 }))
      .map(([a, port]) => ({ ...a, port }) as any),
  }),
);

test.prop([message])(
  'every message survives encode then decode; answers are smaller than requests',
  (m) => {
    const bytes = encodeProbeMessage(m);
    expect(decodeProbeMessage(bytes)).toEqual(m);
    if (m.type === 'probe') expect(bytes.byteLength).toBe(requestSize);
    else expect(bytes.byteLength).toBeLessThanOrEqual(maxAnswerSize);
    expect(maxAnswerSize).toBeLessThan(requestSize);
  },
);

test.prop([fc.uint8Array({ maxLength: 700 })])(
  'arbitrary bytes: a message or ErrorCodec',
  (bytes) => {
    try {
      const m = decodeProbeMessage(bytes);
      expect(Buffer.from(encodeProbeMessage(m)).equals(Buffer.from(bytes))).toBe(true);
    } catch (e) {
      expect(e).toBeInstanceOf(baseErrors.ErrorCodec);
    }
  },
);

test.prop([message, fc.nat({ max: 100 }), fc.integer({ min: 1, max: 255 })])(
  'truncated, extended or corrupted messages are refused or keep one exact meaning',
  (m, at, byte) => {
    const bytes = encodeProbeMessage(m);
    const corrupt = new Uint8Array(bytes);
    corrupt[at % bytes.byteLength] ^= byte;
    for (const v of [
      bytes.subarray(0, at % bytes.byteLength),
      new Uint8Array([...bytes, byte]),
      corrupt,
    ]) {
      try {
        const back = decodeProbeMessage(v);
        expect(Buffer.from(encodeProbeMessage(back)).equals(Buffer.from(v))).toBe(true);
      } catch (e) {
        expect(e).toBeInstanceOf(baseErrors.ErrorCodec);
      }
    }
  },
);
