import { describe, test, expect } from '@jest/globals';
import { test as testProp, fc } from '@fast-check/jest';
import * as claims from '../src/claims.js';
import * as keys from '../src/keys.js';
import * as networks from '../src/networks.js';
import { nodeIdFromPublicKey } from '../src/nodeId.js';
import * as errors from '../src/errors.js';
import { errors as baseErrors } from '@node-network/network-interface';

const authority = keys.generateKeyPair();
const network = networks.privateNetworkId(authority.publicKey);
const member = nodeIdFromPublicKey(keys.generateKeyPair().publicKey);
const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2027-01-01T00:00:00Z');
const claim = claims.createMembershipClaim({
  authorityPrivateKey: authority.privateKey,
  networkId: network,
  nodeId: member,
  issuedAt: t0,
  expiresAt: t1,
});
const mid = new Date('2026-06-01T00:00:00Z');

describe('network ids', () => {
  test('parse', () => {
    expect(networks.parseNetworkId('mainnet')).toBe('mainnet');
    expect(networks.parseNetworkId('testnet')).toBe('testnet');
    expect(networks.parseNetworkId(network)).toBe(network);
    expect(networks.isPrivateNetwork(network)).toBe(true);
  });
  testProp.prop([fc.anything()])('hostile network ids throw typed', (x) => {
    try {
      networks.parseNetworkId(x);
    } catch (e) {
      expect(e).toBeInstanceOf(errors.ErrorNetworkIdInvalid);
    }
  });
});

describe('membership claims', () => {
  test('encode/decode round-trip and verification', () => {
    const back = claims.decodeMembershipClaim(claims.encodeMembershipClaim(claim));
    expect(back).toEqual(claim);
    claims.verifyMembershipClaim(back, { networkId: network, nodeId: member, now: mid });
  });

  test('each way to be wrong has its own typed error', () => {
    const v =
      (
        c: claims.MembershipClaim,
        o: Partial<{ networkId: networks.NetworkId; nodeId: typeof member; now: Date }> = {},
      ) =>
      () =>
        claims.verifyMembershipClaim(c, { networkId: network, nodeId: member, now: mid, ...o });
    expect(v(claim, { now: new Date('2028-01-01') })).toThrow(errors.ErrorClaimExpired);
    expect(v(claim, { now: new Date('2025-01-01') })).toThrow(errors.ErrorClaimNotYetValid);
    const other = nodeIdFromPublicKey(keys.generateKeyPair().publicKey);
    expect(v(claim, { nodeId: other })).toThrow(errors.ErrorClaimWrongNode);
    const otherNet = networks.privateNetworkId(keys.generateKeyPair().publicKey);
    expect(v(claim, { networkId: otherNet })).toThrow(errors.ErrorClaimWrongNetwork);
    expect(v(claim, { networkId: 'mainnet' })).toThrow(errors.ErrorClaimWrongNetwork);
    const forged = claims.createMembershipClaim({
      authorityPrivateKey: keys.generateKeyPair().privateKey,
      networkId: network,
      nodeId: member,
      issuedAt: t0,
      expiresAt: t1,
    });
    expect(v(forged)).toThrow(errors.ErrorClaimSignatureInvalid);
    const tampered = { ...claim, expiresAt: new Date('2030-01-01T00:00:00Z') };
    expect(v(tampered, { now: new Date('2029-01-01') })).toThrow(errors.ErrorClaimSignatureInvalid);
  });

  testProp.prop([fc.uint8Array({ maxLength: 2000 })])(
    'random bytes decode typed or not at all',
    (b) => {
      try {
        claims.decodeMembershipClaim(b);
      } catch (e) {
        expect(e).toBeInstanceOf(baseErrors.ErrorCodec);
      }
    },
  );

  testProp.prop([fc.nat(400), fc.integer({ min: 0, max: 255 })])(
    'any single-byte change is rejected by decoding or by verification',
    (pos, byte) => {
      const enc = claims.encodeMembershipClaim(claim);
      const i = pos % enc.byteLength;
      if (enc[i] === byte) return;
      const changed = new Uint8Array(enc);
      changed[i] = byte;
      expect(() => {
        const c = claims.decodeMembershipClaim(changed);
        claims.verifyMembershipClaim(c, { networkId: network, nodeId: member, now: mid });
      }).toThrow();
    },
  );

  test('oversized, truncated and non-canonical claims are malformed', () => {
    const enc = Buffer.from(claims.encodeMembershipClaim(claim));
    expect(() => claims.decodeMembershipClaim(new Uint8Array(2000))).toThrow(
      errors.ErrorClaimMalformed,
    );
    expect(() => claims.decodeMembershipClaim(enc.subarray(0, enc.length - 5))).toThrow(
      errors.ErrorClaimMalformed,
    );
    const spaced = Buffer.from(enc.toString().replace('{', '{ '));
    expect(() => claims.decodeMembershipClaim(spaced)).toThrow(errors.ErrorClaimMalformed);
    expect(() => claims.decodeMembershipClaim('string' as any)).toThrow(errors.ErrorClaimMalformed);
  });
});
