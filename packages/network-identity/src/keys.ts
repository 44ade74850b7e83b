import crypto from 'node:crypto';
import { ErrorKeyInvalid } from './errors.js';
import { show, toBuffer } from './utils.js';

/** An Ed25519 key pair in raw form: 32-byte public key, 32-byte private seed. */
type KeyPair = {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
};

/** PKCS#8 DER of an Ed25519 private key is this prefix followed by the 32-byte seed. */
const pkcs8Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
/** SPKI DER of an Ed25519 public key is this prefix followed by the 32-byte key. */
const spkiPrefix = Buffer.from('302a300506032b6570032100', 'hex');

function assertKeyBytes(x: unknown, what: string): asserts x is Uint8Array {
  if (!(x instanceof Uint8Array) || x.byteLength !== 32) {
    throw new ErrorKeyInvalid(`${what} must be 32 bytes, got ${show(x)}`);
  }
}

function privateKeyObject(privateKey: Uint8Array): crypto.KeyObject {
  assertKeyBytes(privateKey, 'Ed25519 private key');
  return crypto.createPrivateKey({
    key: Buffer.concat([pkcs8Prefix, toBuffer(privateKey)]),
    format: 'der',
    type: 'pkcs8',
  });
}

function publicKeyObject(publicKey: Uint8Array): crypto.KeyObject {
  assertKeyBytes(publicKey, 'Ed25519 public key');
  return crypto.createPublicKey({
    key: Buffer.concat([spkiPrefix, toBuffer(publicKey)]),
    format: 'der',
    type: 'spki',
  });
}

function keyPairFromSeed(seed: Uint8Array): KeyPair {
  const priv = privateKeyObject(seed);
  const spki = crypto.createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return {
    publicKey: new Uint8Array(spki.subarray(spkiPrefix.byteLength)),
    privateKey: new Uint8Array(seed),
  };
}

function generateKeyPair(): KeyPair {
  return keyPairFromSeed(crypto.randomBytes(32));
}

/** Ed25519 signature (64 bytes). */
function sign(privateKey: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(crypto.sign(null, data, privateKeyObject(privateKey)));
}

/** True only for a valid signature; any malformed input is simply false. */
function verify(publicKey: unknown, data: unknown, signature: unknown): boolean {
  if (
    !(publicKey instanceof Uint8Array) ||
    publicKey.byteLength !== 32 ||
    !(data instanceof Uint8Array) ||
    !(signature instanceof Uint8Array) ||
    signature.byteLength !== 64
  ) {
    return false;
  }
  try {
    return crypto.verify(null, data, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}

/** PKCS#8 PEM of the private key, as TLS stacks (BoringSSL, @matrixai/quic) take it. */
function privateKeyToPem(privateKey: Uint8Array): string {
  return privateKeyObject(privateKey).export({ format: 'pem', type: 'pkcs8' }).toString();
}

function privateKeyToPkcs8(privateKey: Uint8Array): Uint8Array {
  assertKeyBytes(privateKey, 'Ed25519 private key');
  return new Uint8Array(Buffer.concat([pkcs8Prefix, toBuffer(privateKey)]));
}

function publicKeyToSpki(publicKey: Uint8Array): Uint8Array {
  assertKeyBytes(publicKey, 'Ed25519 public key');
  return new Uint8Array(Buffer.concat([spkiPrefix, toBuffer(publicKey)]));
}

export type { KeyPair };
export {
  generateKeyPair,
  keyPairFromSeed,
  sign,
  verify,
  privateKeyToPem,
  privateKeyToPkcs8,
  publicKeyToSpki,
};
