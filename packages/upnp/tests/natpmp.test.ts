import { describe, expect } from '@jest/globals';
import { test, fc } from '@fast-check/jest';
import * as errors from '../src/errors.js';
import {
  decodeNatPmpRequest,
  decodeNatPmpResponse,
  encodeNatPmpRequest,
  encodeNatPmpResponse,
} from '../src/protocol/natpmp.js';
import type { NatPmpResponse } from '../src/protocol/natpmp.js';
import { decodedOrInvalid } from './utils.js';

const port = fc.integer({ min: 1, max: 0xffff });
const protocol = fc.constantFrom('udp' as const, 'tcp' as const);
const ipv4 = fc.ipV4();
const u32 = fc.integer({ min: 0, max: 0xffffffff });

const mapRequest = fc.record({
  op: fc.constant('map' as const),
  protocol,
  internalPort: port,
  externalPort: fc.integer({ min: 0, max: 0xffff }),
  lifetimeSeconds: u32,
});

const response: fc.Arbitrary<NatPmpResponse> = fc.oneof(
  fc.record({
    ok: fc.constant(true as const),
    op: fc.constant('external-address' as const),
    epoch: u32,
    externalAddress: ipv4,
  }),
  fc.record({
    ok: fc.constant(true as const),
    op: fc.constant('map' as const),
    protocol,
    epoch: u32,
    internalPort: port,
    externalPort: port,
    lifetimeSeconds: u32,
  }),
  fc.record({
    ok: fc.constant(false as const),
    op: fc.constant('map' as const),
    protocol,
    resultCode: fc.integer({ min: 1, max: 0xffff }),
    epoch: u32,
  }),
  fc.record({
    ok: fc.constant(false as const),
    op: fc.constant('external-address' as const),
    resultCode: fc.integer({ min: 1, max: 0xffff }),
    epoch: u32,
  }),
);

describe('NAT-PMP codec (RFC 6886)', () => {
  test('the wire forms of the RFC', () => {
    expect([...encodeNatPmpRequest({ op: 'external-address' })]).toEqual([0, 0]);
    const map = encodeNatPmpRequest({
      op: 'map',
      protocol: 'udp',
      internalPort: 40000,
      externalPort: 40001,
      lifetimeSeconds: 7200,
    });
    expect(Buffer.from(map).toString('hex')).toBe('000100009c409c4100001c20');
    // miniupnpd's answer to that (epoch 11519), as captured in the lab.
    const answer = Uint8Array.from(
      Buffer.from('008100000000' + '2cff' + '9c409c4100001c20', 'hex'),
    );
    expect(decodeNatPmpResponse(answer)).toEqual({
      ok: true,
      op: 'map',
      protocol: 'udp',
      epoch: 11519,
      internalPort: 40000,
      externalPort: 40001,
      lifetimeSeconds: 7200,
    });
    expect(
      decodeNatPmpResponse(Uint8Array.from(Buffer.from('0080000000002cff07070701', 'hex'))),
    ).toEqual({ ok: true, op: 'external-address', epoch: 11519, externalAddress: '7.7.7.1' });
    // A refusal is 8 bytes: result code 2 (Not Authorized/Refused).
    expect(decodeNatPmpResponse(Uint8Array.from([0, 130, 0, 2, 0, 0, 0, 9]))).toEqual({
      ok: false,
      op: 'map',
      protocol: 'tcp',
      resultCode: 2,
      epoch: 9,
    });
  });

  test.prop([mapRequest])('requests round-trip through the gateway side', (req) => {
    expect(decodeNatPmpRequest(encodeNatPmpRequest(req))).toEqual(req);
  });

  test.prop([response])('responses round-trip', (res) => {
    expect(decodeNatPmpResponse(encodeNatPmpResponse(res))).toEqual(res);
  });

  test.prop([fc.uint8Array({ maxLength: 64 })])(
    'arbitrary bytes: a response or ErrorUPnPResponseInvalid',
    (b) => {
      decodedOrInvalid(() => decodeNatPmpResponse(b));
      // The gateway side never throws: undefined for what is not a request.
      decodeNatPmpRequest(b);
    },
  );

  test.prop([response, fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 255 })])(
    'corrupted responses (a byte changed, or cut short): decoded consistently or refused',
    (res, at, value) => {
      const b = encodeNatPmpResponse(res);
      const changed = b.slice();
      changed[at % b.length] = value;
      const r = decodedOrInvalid(() => decodeNatPmpResponse(changed));
      if (r != null && r.ok && r.op === 'map') {
        expect(r.internalPort).toBeGreaterThan(0);
        if (r.lifetimeSeconds > 0) expect(r.externalPort).toBeGreaterThan(0);
      }
      decodedOrInvalid(() => decodeNatPmpResponse(b.subarray(0, at % b.length)));
    },
  );

  test('oversized, truncated and request-shaped datagrams are refused', () => {
    expect(() => decodeNatPmpResponse(new Uint8Array(1101))).toThrow(
      errors.ErrorUPnPResponseTooLarge,
    );
    expect(() => decodeNatPmpResponse(new Uint8Array(65507))).toThrow(
      errors.ErrorUPnPResponseInvalid,
    );
    expect(() => decodeNatPmpResponse(Uint8Array.from([0, 128, 0, 0]))).toThrow(
      /under the 8-byte header/,
    );
    expect(() => decodeNatPmpResponse(Uint8Array.from([0, 1, 0, 0, 0, 0, 0, 0]))).toThrow(
      /request/,
    );
    expect(() => decodeNatPmpResponse(Uint8Array.from([2, 128, 0, 0, 0, 0, 0, 0]))).toThrow(
      /version 2/,
    );
    // Success with a granted lifetime but external port 0: a lie.
    expect(() =>
      decodeNatPmpResponse(Uint8Array.from(Buffer.from('008100000000000100010000000000ff', 'hex'))),
    ).toThrow(/external port 0/);
  });
});
