import { describe, test, expect } from '@jest/globals';
import { test as testProp, fc } from '@fast-check/jest';
import * as nodeId from '../src/nodeId.js';
import * as keys from '../src/keys.js';
import { ErrorNodeIdInvalid, ErrorKeyInvalid } from '../src/errors.js';

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe('NodeId text', () => {
  testProp.prop([key32])('encode/decode round-trip, canonical and Polykey-shaped', (k) => {
    const id = nodeId.nodeIdFromPublicKey(k);
    const text = nodeId.encodeNodeId(id);
    expect(text).toMatch(/^v[0-9a-v]{52}$/);
    expect(Buffer.from(nodeId.decodeNodeId(text))).toEqual(Buffer.from(k));
  });

  test('matches RFC 4648 base32hex', () => {
    // base32hex of 32 zero bytes is 52 '0's; of 0xff bytes ends in 'vvvg'.
    expect(nodeId.encodeNodeId(nodeId.nodeIdFromPublicKey(new Uint8Array(32)))).toBe(
      'v' + '0'.repeat(52),
    );
    const ones = nodeId.encodeNodeId(nodeId.nodeIdFromPublicKey(new Uint8Array(32).fill(0xff)));
    expect(ones).toBe('v' + 'v'.repeat(51) + 'g');
    expect(Buffer.from('f', 'utf8').length).toBe(1);
  });

  testProp.prop([fc.anything()])('hostile values throw ErrorNodeIdInvalid only', (x) => {
    try {
      nodeId.decodeNodeId(x);
      expect(nodeId.isNodeIdEncoded(x)).toBe(true);
    } catch (e) {
      expect(e).toBeInstanceOf(ErrorNodeIdInvalid);
    }
  });

  testProp.prop([key32, fc.nat(52), fc.string({ minLength: 1, maxLength: 1 })])(
    'any one-character change is rejected or decodes to a different id',
    (k, pos, ch) => {
      const text = nodeId.encodeNodeId(nodeId.nodeIdFromPublicKey(k));
      const i = 1 + (pos % 52);
      const changed = text.slice(0, i) + ch + text.slice(i + 1);
      if (changed === text) return;
      try {
        const id = nodeId.decodeNodeId(changed);
        expect(Buffer.from(id).equals(Buffer.from(k))).toBe(false);
      } catch (e) {
        expect(e).toBeInstanceOf(ErrorNodeIdInvalid);
      }
    },
  );

  test('rejects wrong prefix, length, case, characters and set trailing bits', () => {
    const good = nodeId.encodeNodeId(nodeId.nodeIdFromPublicKey(new Uint8Array(32).fill(7)));
    const bad = [
      'z' + good.slice(1),
      good.slice(0, -1),
      good + '0',
      good.toUpperCase(),
      good.slice(0, 10) + 'w' + good.slice(11),
      good.slice(0, -1) + '1', // the last char's low 4 bits must be zero
      '',
      'v',
    ];
    for (const b of bad) expect(() => nodeId.decodeNodeId(b)).toThrow(ErrorNodeIdInvalid);
    expect(() => nodeId.nodeIdFromPublicKey(new Uint8Array(31))).toThrow(ErrorNodeIdInvalid);
  });

  testProp.prop([key32, key32])('compare is a consistent total order', (a, b) => {
    const x = nodeId.compareNodeIds(a, b);
    expect(Math.sign(nodeId.compareNodeIds(b, a))).toBe(-Math.sign(x));
    expect(x === 0).toBe(nodeId.nodeIdEquals(a, b));
  });
});

describe('keys', () => {
  testProp.prop([key32, fc.uint8Array({ maxLength: 256 })], { numRuns: 50 })(
    'sign/verify round-trip; a flipped bit fails',
    (seed, data) => {
      const kp = keys.keyPairFromSeed(seed);
      const sig = keys.sign(kp.privateKey, data);
      expect(sig.byteLength).toBe(64);
      expect(keys.verify(kp.publicKey, data, sig)).toBe(true);
      const bad = new Uint8Array(sig);
      bad[0] ^= 1;
      expect(keys.verify(kp.publicKey, data, bad)).toBe(false);
    },
  );

  testProp.prop([fc.anything(), fc.anything(), fc.anything()])(
    'verify never throws on garbage',
    (a, b, c) => {
      expect(keys.verify(a, b, c)).toBe(false);
    },
  );

  test('seed determines the key pair; PEM is PKCS#8', () => {
    const kp = keys.generateKeyPair();
    expect(keys.keyPairFromSeed(kp.privateKey)).toEqual(kp);
    expect(keys.privateKeyToPem(kp.privateKey)).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(() => keys.keyPairFromSeed(new Uint8Array(5))).toThrow(ErrorKeyInvalid);
  });
});
