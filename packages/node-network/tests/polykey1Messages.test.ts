import { describe, test, expect } from '@jest/globals';
import { test as testProp, fc } from '@fast-check/jest';
import * as identity from '@node-network/network-identity';
import * as messages from '../src/polykey1/messages.js';
import { ErrorPolykeyMessageInvalid } from '../src/errors.js';

const source = identity.generateKeyPair();
const relay = identity.generateKeyPair();
const target = identity.generateKeyPair();
const id = (kp: identity.KeyPair) => identity.nodeIdFromPublicKey(kp.publicKey);
const text = (kp: identity.KeyPair) => identity.encodeNodeId(id(kp));
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');

/** A SignalFinal as 1.x's relay sends it (signatures made the way 1.x makes them). */
function signalFinal(address = { host: '127.0.0.1', port: 4242 }) {
  const requestSignature = identity.sign(
    source.privateKey,
    messages.signalRequestData(id(source), id(target)),
  );
  const relaySignature = identity.sign(
    relay.privateKey,
    messages.signalRelayData(id(source), id(target), address, requestSignature),
  );
  return {
    sourceNodeIdEncoded: text(source),
    targetNodeIdEncoded: text(target),
    address,
    requestSignature: b64(requestSignature),
    relaySignature: b64(relaySignature),
  };
}

function parsers(): Array<(x: unknown) => unknown> {
  return [
    messages.parseNodeIdMessage,
    messages.parseSignalInitial,
    messages.parseSignalFinal,
    messages.parseClosestLocalNode,
    messages.parseClosestActiveConnection,
  ];
}

describe('Polykey 1.x message codec', () => {
  test('a SignalFinal signed as 1.x signs verifies; any other relay or a changed address does not', () => {
    const m = messages.parseSignalFinal(signalFinal());
    expect(() => messages.verifySignalFinal(m, id(relay))).not.toThrow();
    expect(() => messages.verifySignalFinal(m, id(target))).toThrow(ErrorPolykeyMessageInvalid);
    const moved = messages.parseSignalFinal({
      ...signalFinal(),
      address: { host: '127.0.0.1', port: 4243 },
    });
    expect(() => messages.verifySignalFinal(moved, id(relay))).toThrow(ErrorPolykeyMessageInvalid);
  });

  test('closest-node answers parse to dialable addresses; NodeContacts round-trip', () => {
    const contact = messages.encodeNodeContact(['127.0.0.1:1000', '[::1]:2000'], 1);
    expect(Object.keys(contact)).toEqual(['127.0.0.1-1000', '::1-2000']);
    expect(
      messages.parseClosestLocalNode({ nodeIdEncoded: text(target), nodeContact: contact })
        .addresses,
    ).toEqual(['127.0.0.1:1000', '[::1]:2000']);
    expect(
      messages.parseClosestActiveConnection({
        nodeId: text(target),
        connections: { c1: { host: '10.0.0.1', port: 5, primary: true } },
      }).addresses,
    ).toEqual(['10.0.0.1:5']);
  });

  testProp.prop([fc.anything(), fc.integer({ min: 0, max: 4 })])(
    'hostile input is refused with a typed error, never anything else',
    (x, which) => {
      try {
        parsers()[which](x);
      } catch (e) {
        expect(e).toBeInstanceOf(ErrorPolykeyMessageInvalid);
      }
    },
  );

  testProp.prop([
    fc.constantFrom(
      'sourceNodeIdEncoded',
      'targetNodeIdEncoded',
      'address',
      'requestSignature',
      'relaySignature',
    ),
    fc.oneof(fc.anything(), fc.string(), fc.record({ host: fc.string(), port: fc.integer() })),
  ])('a SignalFinal with any field replaced is refused typed or still verifies', (field, value) => {
    const m = { ...signalFinal(), [field]: value };
    try {
      messages.verifySignalFinal(messages.parseSignalFinal(m), id(relay));
    } catch (e) {
      expect(e).toBeInstanceOf(ErrorPolykeyMessageInvalid);
    }
  });
});
