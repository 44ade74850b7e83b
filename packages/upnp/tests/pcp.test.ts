import { describe, expect } from '@jest/globals';
import { test, fc } from '@fast-check/jest';
import * as errors from '../src/errors.js';
import {
  decodePcpRequest,
  decodePcpResponse,
  encodePcpRequest,
  encodePcpResponse,
} from '../src/protocol/pcp.js';
import type { PcpRequest, PcpResponse } from '../src/protocol/pcp.js';
import { decodedOrInvalid } from './utils.js';

const port = fc.integer({ min: 1, max: 0xffff });
const protocol = fc.constantFrom('udp' as const, 'tcp' as const);
const ipv4 = fc.ipV4();
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const nonce = fc.uint8Array({ minLength: 12, maxLength: 12 });

const request: fc.Arbitrary<PcpRequest> = fc.oneof(
  fc.record({ opcode: fc.constant('announce' as const), clientAddress: ipv4 }),
  fc.record({
    opcode: fc.constant('map' as const),
    clientAddress: ipv4,
    lifetimeSeconds: u32,
    nonce,
    protocol,
    internalPort: port,
    externalPort: fc.integer({ min: 0, max: 0xffff }),
    externalAddress: ipv4,
  }),
);

const response: fc.Arbitrary<PcpResponse> = fc.oneof(
  fc.record({
    ok: fc.constant(true as const),
    opcode: fc.constant('announce' as const),
    lifetimeSeconds: u32,
    epoch: u32,
  }),
  fc.record({
    ok: fc.constant(true as const),
    opcode: fc.constant('map' as const),
    lifetimeSeconds: u32,
    epoch: u32,
    nonce,
    protocol,
    internalPort: port,
    externalPort: port,
    externalAddress: ipv4,
  }),
  fc.record({
    ok: fc.constant(false as const),
    opcode: fc.constant('map' as const),
    resultCode: fc.integer({ min: 1, max: 255 }),
    lifetimeSeconds: u32,
    epoch: u32,
    nonce,
  }),
);

const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));

describe('PCP codec (RFC 6887)', () => {
  test("miniupnpd 2.3.1's answers, as captured in the lab", () => {
    expect(decodePcpResponse(hex('028000000000000000002cfe000000000000000000000000'))).toEqual({
      ok: true,
      opcode: 'announce',
      lifetimeSeconds: 0,
      epoch: 11518,
    });
    const map = decodePcpResponse(
      hex(
        '028100000000007800002cfe00000000000000000000000030313233343536373839616211000000a410a41000000000000000000000ffff07070701',
      ),
    );
    expect(map).toEqual({
      ok: true,
      opcode: 'map',
      lifetimeSeconds: 120,
      epoch: 11518,
      nonce: Uint8Array.from(Buffer.from('0123456789ab')),
      protocol: 'udp',
      internalPort: 42000,
      externalPort: 42000,
      externalAddress: '7.7.7.1',
    });
  });

  test('a NAT-PMP-only gateway answers PCP in NAT-PMP format: UNSUPP_VERSION, natPmpOnly', () => {
    expect(decodePcpResponse(Uint8Array.from([0, 129, 0, 1, 0, 0, 0, 5]))).toMatchObject({
      ok: false,
      resultCode: 1,
      natPmpOnly: true,
    });
  });

  test.prop([request])('requests round-trip through the gateway side', (req) => {
    const b = encodePcpRequest(req);
    expect(b.length).toBe(req.opcode === 'map' ? 60 : 24);
    expect(decodePcpRequest(b)).toEqual(req);
  });

  test.prop([response])('responses round-trip', (res) => {
    expect(decodePcpResponse(encodePcpResponse(res))).toEqual(res);
  });

  test.prop([fc.uint8Array({ maxLength: 128 })])(
    'arbitrary bytes: a response or ErrorUPnPResponseInvalid',
    (b) => {
      decodedOrInvalid(() => decodePcpResponse(b));
      decodePcpRequest(b);
    },
  );

  test.prop([
    response,
    fc.nat(),
    fc.integer({ min: 0, max: 255 }),
    fc.uint8Array({ maxLength: 40 }),
  ])(
    'corrupted, truncated or extended responses: decoded consistently or refused',
    (res, at, value, tail) => {
      const b = encodePcpResponse(res);
      const changed = b.slice();
      changed[at % b.length] = value;
      const r = decodedOrInvalid(() => decodePcpResponse(changed));
      if (r != null && r.ok && r.opcode === 'map') {
        expect(r.internalPort).toBeGreaterThan(0);
        expect(r.externalAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      }
      decodedOrInvalid(() => decodePcpResponse(b.subarray(0, at % b.length)));
      const longer = new Uint8Array(b.length + tail.length);
      longer.set(b);
      longer.set(tail, b.length);
      decodedOrInvalid(() => decodePcpResponse(longer));
    },
  );

  test('hostile shapes are refused with reasons', () => {
    expect(() => decodePcpResponse(new Uint8Array(2000))).toThrow(errors.ErrorUPnPResponseTooLarge);
    const ok = encodePcpResponse({
      ok: true,
      opcode: 'map',
      lifetimeSeconds: 60,
      epoch: 1,
      nonce: new Uint8Array(12),
      protocol: 'udp',
      internalPort: 1,
      externalPort: 2,
      externalAddress: '7.7.7.1',
    });
    const v6 = ok.slice();
    v6[24 + 20] = 0x20; // assigned address 2000::... is not IPv4-mapped
    expect(() => decodePcpResponse(v6)).toThrow(/not IPv4/);
    const withOption = new Uint8Array(ok.length + 4);
    withOption.set(ok);
    withOption.set([1, 0, 0, 16], ok.length); // option claims 16 bytes that are not there
    expect(() => decodePcpResponse(withOption)).toThrow(/overruns/);
    const request = ok.slice();
    request[1] = 1; // R bit clear
    expect(() => decodePcpResponse(request)).toThrow(/R bit/);
    expect(() => decodePcpResponse(ok.subarray(0, 58))).toThrow(/multiple of 4/);
  });
});
