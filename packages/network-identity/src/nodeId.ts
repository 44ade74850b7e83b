import type { NodeId, NodeIdEncoded } from '@node-network/network-interface';
import { ErrorNodeIdInvalid } from './errors.js';
import { show } from './utils.js';

/**
 * NodeId text: multibase base32hex, exactly as Polykey 1.x writes it: the
 * prefix 'v', then the 32 key bytes in RFC 4648 base32hex, lower case, no
 * padding (52 characters). The last character carries 4 unused bits, which
 * must be zero: every NodeId has exactly one text form.
 */
const alphabet = '0123456789abcdefghijklmnopqrstuv';
const decodeTable = new Int8Array(128).fill(-1);
for (let i = 0; i < alphabet.length; i++) decodeTable[alphabet.charCodeAt(i)] = i;
const nodeIdTextLength = 53;

function nodeIdFromPublicKey(publicKey: Uint8Array): NodeId {
  if (!(publicKey instanceof Uint8Array) || publicKey.byteLength !== 32) {
    throw new ErrorNodeIdInvalid(
      `A NodeId is a 32-byte Ed25519 public key, got ${show(publicKey)}`,
    );
  }
  return new Uint8Array(publicKey) as NodeId;
}

function encodeNodeId(nodeId: NodeId): NodeIdEncoded {
  let out = 'v';
  let buffer = 0;
  let bits = 0;
  for (const byte of nodeId) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += alphabet[(buffer << (5 - bits)) & 31];
  return out as NodeIdEncoded;
}

/** Parses NodeId text; anything but the one canonical form throws `ErrorNodeIdInvalid`. */
function decodeNodeId(text: unknown): NodeId {
  if (typeof text !== 'string') {
    throw new ErrorNodeIdInvalid(`NodeId text must be a string, got ${show(text)}`);
  }
  if (text.length !== nodeIdTextLength || text[0] !== 'v') {
    throw new ErrorNodeIdInvalid(
      `NodeId text is 'v' and 52 base32hex characters, got ${show(text)}`,
    );
  }
  const out = new Uint8Array(32);
  let buffer = 0;
  let bits = 0;
  let j = 0;
  for (let i = 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? decodeTable[c] : -1;
    if (v === -1) {
      throw new ErrorNodeIdInvalid(`NodeId text has a character outside 0-9a-v: ${show(text)}`);
    }
    buffer = (buffer << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out[j++] = (buffer >>> (bits - 8)) & 0xff;
      bits -= 8;
      buffer &= (1 << bits) - 1;
    }
  }
  if (buffer !== 0) {
    throw new ErrorNodeIdInvalid(`NodeId text is not canonical (trailing bits set): ${show(text)}`);
  }
  return out as NodeId;
}

function isNodeIdEncoded(text: unknown): text is NodeIdEncoded {
  try {
    decodeNodeId(text);
    return true;
  } catch {
    return false;
  }
}

function nodeIdEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Byte order; used for deterministic tie-breaks between two nodes. */
function compareNodeIds(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export {
  nodeIdFromPublicKey,
  encodeNodeId,
  decodeNodeId,
  isNodeIdEncoded,
  nodeIdEquals,
  compareNodeIds,
};
