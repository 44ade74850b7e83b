/**
 * The binding datagram of a datagram circuit: a node sends it from its QUIC
 * socket to the relay port it was given, so the relay learns the address
 * (after NAT) that the node's QUIC packets will come from, and the node's
 * NAT opens toward that port. Layout: 0x00, 0x4e ('N'), 16-byte token.
 * A first byte of 0x00 is never a QUIC v1 packet (the fixed bit 0x40 is
 * clear), so a QUIC stack that receives one drops it, and the relay tells
 * bindings from the QUIC packets it forwards at the first byte.
 */
const bindingTokenLength = 16;
const bindingLength = 2 + bindingTokenLength;

function encodeBinding(token: Uint8Array): Uint8Array {
  if (token.byteLength !== bindingTokenLength) {
    throw new RangeError(`A binding token is ${bindingTokenLength} bytes, got ${token.byteLength}`);
  }
  const out = new Uint8Array(bindingLength);
  out[0] = 0x00;
  out[1] = 0x4e;
  out.set(token, 2);
  return out;
}

/** The token of a binding datagram, or undefined when `data` is not one (a QUIC packet, garbage). */
function decodeBinding(data: Uint8Array): Uint8Array | undefined {
  if (data.byteLength !== bindingLength || data[0] !== 0x00 || data[1] !== 0x4e) return undefined;
  return data.subarray(2);
}

/** Whether `data` starts like a binding (0x00): such datagrams are never forwarded. */
function isControl(data: Uint8Array): boolean {
  return data.byteLength === 0 || data[0] === 0x00;
}

function tokensEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export { bindingTokenLength, bindingLength, encodeBinding, decodeBinding, isControl, tokensEqual };
